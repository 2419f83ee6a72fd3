"""MkDocs hooks of the seqcnn site (mkdocs.yml: ``hooks``).

The docstrings are numpydoc with Sphinx roles (``:func:`predict```); mkdocstrings renders the
role's name as text before the code. This drops the role names from the rendered HTML, so
``:func:`predict``` reads as ``predict`` in code type.
"""

from __future__ import annotations

import re

ROLE = re.compile(r":(?:py:)?(?:mod|func|class|meth|data|attr|obj|exc|const|ref|doc):(?=<code)")


def on_page_content(html: str, **kwargs) -> str:
    return ROLE.sub("", html)
