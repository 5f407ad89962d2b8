"""Serve MathJax 3 from the built site instead of a CDN.

Students in a classroom without internet (and the build machines) cannot reach a CDN. The
`django-static-mathjax` wheel ships MathJax 3.2.2 as plain static files; this extension copies its
``es5`` bundle (fonts included) into ``_static/mathjax`` and points Sphinx's ``mathjax_path`` there.
"""
import shutil
from pathlib import Path

import mathjax  # the django-static-mathjax package; only its files are used, never Django

ES5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"


def _point_at_local_copy(app, config):
    config.mathjax_path = "mathjax/tex-mml-chtml.js"


def _copy_bundle(app, exception):
    if exception is None and app.builder.format == "html":
        shutil.copytree(ES5, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _point_at_local_copy, priority=900)
    app.connect("build-finished", _copy_bundle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
