"""`python -m mockserver.render …`: the render command without the `esi-mock` entry point."""

from mockserver.render.cli import render

if __name__ == "__main__":
    render(prog_name="esi-mock render")
