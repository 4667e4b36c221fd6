"""MkDocs hooks of the documentation site (mkdocs.yml ``hooks:``).

The benchmark pages live in ``benchmarks/`` beside the code that makes them, outside ``docs/``. At build time:

- they are added to the site as ``benchmarks/index.md`` (the README) and ``benchmarks/results/<name>.md``, and
  listed under the "Benchmarks" entry of the navigation (whatever result pages exist);
- links written for the repository (``../benchmarks/README.md``, ``../benchmarks/results/<name>.md``, which
  work when reading ``docs/`` on a forge) are rewritten to those pages,

so that ``mkdocs build --strict`` checks them like any other link.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
LINK = re.compile(r"\]\(([^)\s#]+\.md)(#[^)\s]*)?\)")


def _benchmark_pages() -> dict[str, Path]:
    """Site URI -> source file of every benchmark page."""
    pages = {"benchmarks/index.md": BENCHMARKS / "README.md"}
    pages.update({f"benchmarks/results/{p.name}": p for p in sorted((BENCHMARKS / "results").glob("*.md"))})
    return {uri: path for uri, path in pages.items() if path.is_file()}


def _title(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            title = line[2:].split(" (")[0].strip()  # drop "(date, machine)" details
            return title[:1].upper() + title[1:]
    return path.stem.replace("_", " ").capitalize()


def on_config(config):
    """List every benchmark result page under the "Benchmarks" entry of the navigation."""
    pages = _benchmark_pages()
    results = [{_title(path): uri} for uri, path in pages.items() if uri != "benchmarks/index.md"]
    for i, entry in enumerate(config.nav or []):
        if isinstance(entry, dict) and "Benchmarks" in entry:
            config.nav[i] = {"Benchmarks": [{"Overview": "benchmarks/index.md"}, *results]}
    return config


def on_files(files, config):
    """Add the benchmark pages to the site."""
    for uri, source in _benchmark_pages().items():
        files.append(File.generated(config, uri, abs_src_path=str(source)))
    return files


def on_page_markdown(markdown, page, config, files):
    """Rewrite repository links to ``benchmarks/`` into links to the benchmark pages of the site."""
    if page.file.abs_src_path is None:
        return markdown
    source_dir = Path(page.file.abs_src_path).parent
    by_source = {path.resolve(): uri for uri, path in _benchmark_pages().items()}
    page_dir = posixpath.dirname(page.file.src_uri)

    def rewrite(match):
        target = (source_dir / match.group(1)).resolve()
        uri = by_source.get(target)
        if uri is None:
            return match.group(0)
        link = posixpath.relpath(uri, page_dir or ".") if page_dir else uri
        return f"]({link}{match.group(2) or ''})"

    return LINK.sub(rewrite, markdown)
