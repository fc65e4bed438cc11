"""`python -m mlgate.reference FOLDER`: write the generated reference pages into FOLDER."""

from mlgate.reference.command import main

main()
