"""``python -m docqa``: the same as the ``docqa`` command."""

from docqa.cli import main

main()
