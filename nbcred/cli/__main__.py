"""``python -m nbcred.cli``: the ``nbcred`` console script."""

from nbcred.cli.root import main

main()
