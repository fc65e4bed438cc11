"""Compiling a fitted pipeline to ONNX: `mlgate.compiler.translate.compile_model`."""
