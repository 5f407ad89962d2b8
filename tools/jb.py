"""The `jupyter-book` command, about a second faster to start (`make html` runs it).

jupyter_book.config imports jsonschema to validate _config.yml, and jsonschema imports the optional
`rfc3987_syntax` (installed for jupyter-events) to check the "iri" string format; that module
compiles 38 Lark grammars at import, most of a second, which is over a third of rebuilding one
edited page. Jupyter Book's config schema uses no string format, so this process hides the
module: jsonschema then leaves out the one checker that needs it.
"""
import sys

sys.modules["rfc3987_syntax"] = None  # `import rfc3987_syntax` now raises ImportError

if __name__ == "__main__":
    from jupyter_book.cli.main import main

    main()
