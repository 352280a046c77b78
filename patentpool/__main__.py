"""`python -m patentpool` runs the CLI."""

from cli import main

main(prog_name="patentpool")
