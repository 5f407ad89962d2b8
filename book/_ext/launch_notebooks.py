"""Point the launch buttons at the page's notebook instead of its MyST markdown source.

sphinx-book-theme links Binder, JupyterHub and Colab to the page's source on the repository's
main branch: `book/<chapter>.md`, which Colab cannot open and JupyterLab opens as text, or
`book/exercises/<assignment>.ipynb`, which `make book` generates and git ignores. The built site
already holds each notebook page's notebook in `_sources/`: the theme copies a MyST page's
executed notebook there for the download button, and Sphinx copies an `.ipynb` source there. Once
the site is published as a branch of the repository (`launch_notebooks_branch`, `gh-pages` as
`ghp-import` pushes it), that copy is a file of the repository, so the launch links open it:
Colab and JupyterHub (through nbgitpuller) straight from that branch, and Binder with the
environment of the repository's own branch (requirements.txt) and the notebook pulled in by
nbgitpuller, so that Binder builds its image once, not at every publish.
"""
from urllib.parse import quote, urlencode

from sphinx.util import logging

LOGGER = logging.getLogger(__name__)
UI_PATHS = {"classic": "tree", "jupyterlab": "lab/tree"}


def _notebook(context):
    """The page's notebook, as a path relative to the site root; None for a plain page."""
    if context.get("ipynb_source"):  # a MyST notebook: the theme copied its executed .ipynb
        return f"_sources/{context['ipynb_source']}"
    if context.get("page_source_suffix") == ".ipynb":
        return f"_sources/{context['sourcename']}"
    return None


def launch_urls(app, notebook):
    """Launch URL of each configured service (keyed by the theme's button text)."""
    options = app.config.html_theme_options
    launch = options["launch_buttons"]
    repo_url = options["repository_url"].rstrip("/")
    org, repo = repo_url.split("/")[-2:]
    site_branch = app.config.launch_notebooks_branch
    ui = UI_PATHS[launch.get("notebook_interface", "classic")]
    # nbgitpuller clones the site branch into ~/<repo> and opens the notebook there.
    pull = urlencode({"repo": repo_url, "branch": site_branch,
                      "urlpath": f"{ui}/{repo}/{notebook}"})
    urls = {}
    if binder := launch.get("binderhub_url", "").rstrip("/"):
        env_branch = options.get("repository_branch") or "main"
        urls["Binder"] = (f"{binder}/v2/gh/{org}/{repo}/{env_branch}"
                          f"?urlpath={quote('git-pull?' + pull, safe='')}")
    if hub := launch.get("jupyterhub_url", "").rstrip("/"):
        urls["JupyterHub"] = f"{hub}/hub/user-redirect/git-pull?{pull}"
    if colab := launch.get("colab_url", "").rstrip("/"):
        urls["Colab"] = f"{colab}/github/{org}/{repo}/blob/{site_branch}/{notebook}"
    return urls


def _relink(app, pagename, templatename, context, doctree):
    groups = [b for b in context.get("header_buttons", []) if b.get("label") == "launch-buttons"]
    notebook = _notebook(context)
    if not groups or notebook is None:
        return
    urls = launch_urls(app, notebook)
    for button in groups[0]["buttons"]:
        if button["type"] != "link":
            continue
        if button["text"] not in urls:
            LOGGER.warning("launch_notebooks: no notebook link for the %s button",
                           button["text"], location=pagename)
            continue
        button["url"] = urls[button["text"]]


def setup(app):
    app.add_config_value("launch_notebooks_branch", "gh-pages", "html")
    # After sphinx-book-theme's own handlers (priority 501) have built the buttons.
    app.connect("html-page-context", _relink, priority=510)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
