"""Compiling a fitted pipeline to ONNX: `model.compiler.translate.compile_model`."""
