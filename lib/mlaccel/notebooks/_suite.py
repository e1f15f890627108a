"""The suite file, parameters files and each notebook's parameters and their spec: everything
checked before any kernel starts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlaccel.errors import MLAccelInputError
from mlaccel.parameters import parameter_problems, spec_from_source, spec_problems

SPEC_TAG = "validate-parameters"  # the cell after the parameters cell that checks them

SUITE_KEYS = ("defaults", "notebooks")

SUITE_ITEM_KEYS = ("path", "parameters")


@dataclass(frozen=True)
class SuiteEntry:
    """One notebook of the suite and the parameters the suite passes to it.

    ``sources`` says where each of those parameters was set (a file and its section), so a
    value that fails its spec can be fixed where it came from.
    """

    path: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document in ``path``; an error naming ``what`` the file is, its problem and the
    fix when it is missing, unreadable or not YAML."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise MLAccelInputError(f"{what} {path} does not exist; check the path") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise MLAccelInputError(
            f"{what} {path} cannot be read ({exc}); pass a YAML text file"
        ) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "it cannot be parsed"
        raise MLAccelInputError(
            f"{what} {path} is not valid YAML{where}: {problem}; fix the file"
        ) from exc


def load_overrides(params_file: Path) -> dict[str, Any]:
    """The parameter overrides in ``params_file``: ``defaults`` and per-notebook maps.

    An empty file overrides nothing; a file of another shape is an error saying what to write.
    """
    overrides = read_yaml(params_file, "parameters file")
    raise_problems(_overrides_shape_problems(overrides, f"parameters file {params_file}"))
    return dict(overrides or {})


def load_suite(
    suite_file: Path,
    overrides: Mapping[str, Any] | None = None,
    *,
    overrides_source: str = "the parameter overrides",
) -> list[SuiteEntry]:
    """Read the suite file and apply ``overrides`` (``defaults`` and per-notebook maps).

    ``defaults`` (the suite's, then the overrides') go to the notebooks that declare them; a
    notebook's own parameters in the suite, then in the overrides, come on top. Before
    returning, every notebook's values are checked against its spec; one
    :class:`MLAccelInputError` lists every problem found (``overrides_source`` names the
    overrides in it).
    """
    suite_file = Path(suite_file)
    suite = read_yaml(suite_file, "suite file")
    raise_problems(
        _suite_shape_problems(suite, suite_file)
        + _overrides_shape_problems(overrides, overrides_source)
    )
    overrides = dict(overrides or {})
    defaults = [
        (f"{suite_file} (defaults)", suite.get("defaults") or {}),
        (f"{overrides_source} (defaults)", overrides.get("defaults") or {}),
    ]
    entries = []
    declared_anywhere: set[str] = set()
    for item in suite["notebooks"]:
        name = item if isinstance(item, str) else item["path"]
        path = suite_file.parent / name
        declared = _declared_names(path)
        declared_anywhere |= declared
        key = path.stem if path.stem in overrides else name
        layers = [(origin, _only(values, declared)) for origin, values in defaults]
        if isinstance(item, dict):
            layers.append((f"{suite_file} ({path.stem})", item.get("parameters") or {}))
        layers.append((f"{overrides_source} ({key})", overrides.get(key) or {}))
        entries.append(_entry(path, layers))
    problems = [
        f"{origin} sets {name}, which no notebook of the suite declares; "
        + _choose_from(name, declared_anywhere)
        for origin, values in defaults
        for name in values
        if name not in declared_anywhere
    ]
    known = {e.path.stem for e in entries} | {e.path.name for e in entries} | {"defaults"}
    problems += [
        f"{overrides_source} sets parameters for {name!r}, which is not in the suite; "
        f"its notebooks are {', '.join(e.path.stem for e in entries)}"
        for name in overrides
        if name not in known
    ]
    raise_problems(problems + suite_problems(entries))
    return entries


def select_entries(entries: list[SuiteEntry], names: list[str]) -> list[SuiteEntry]:
    """The entries named in ``names`` (a notebook's name with or without ``.ipynb``), in suite
    order; an error naming every name that is not in the suite.

    Examples
    --------
    >>> suite = [SuiteEntry(Path("01_explore.ipynb")), SuiteEntry(Path("02_train.ipynb"))]
    >>> [e.path.stem for e in select_entries(suite, ["02_train"])]
    ['02_train']
    >>> select_entries(suite, ["09_nothing"])
    Traceback (most recent call last):
    ...
    mlaccel.errors.MLAccelInputError: no notebook named '09_nothing' in the suite; choose from 01_explore, 02_train
    """  # noqa: E501
    known = {e.path.stem for e in entries} | {e.path.name for e in entries}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise MLAccelInputError(
            f"no notebook named {', '.join(map(repr, unknown))} in the suite; "
            f"choose from {', '.join(e.path.stem for e in entries)}"
        )
    return [e for e in entries if e.path.stem in names or e.path.name in names]


def suite_problems(entries: list[SuiteEntry]) -> list[str]:
    """Every problem with the parameters ``entries`` pass, without starting a kernel.

    A parameter a notebook does not declare, a declared parameter without a spec (or a spec
    without a parameter), and a value its spec does not allow; each names the notebook, the
    parameter, the value, what is allowed and where the value was set.
    """
    problems: list[str] = []
    for entry in entries:
        problems += [f"{entry.path.stem}: {problem}" for problem in _entry_problems(entry)]
    return problems


def _entry_problems(entry: SuiteEntry) -> list[str]:
    if not entry.path.is_file():
        return [f"{entry.path} does not exist; fix the notebook's path in the suite file"]
    try:
        declared = notebook_parameters(entry.path)
        spec = parameter_spec(entry.path)
    except MLAccelInputError as exc:
        return [str(exc)]
    problems = [
        f"{entry.sources.get(name, 'the suite')} sets {name}, which its parameters cell does "
        "not declare; " + _choose_from(name, set(declared))
        for name in entry.parameters
        if name not in declared
    ]
    if spec is None:  # a notebook without a spec: its values are not checked
        return problems
    problems += [
        f"parameter {name} has no spec in the {SPEC_TAG} cell; add one"
        for name in declared
        if name not in spec
    ]
    problems += [
        f"the {SPEC_TAG} cell has a spec for {name}, which the parameters cell does not "
        "assign; remove the spec or add the parameter"
        for name in spec
        if name not in declared
    ]
    values = {**declared, **_only(entry.parameters, set(declared))}
    for name, why in parameter_problems(values, spec).items():
        origin = entry.sources.get(name, "the suite")
        if name not in entry.parameters:
            origin = f"the parameters cell of {entry.path.name}"
        problems.append(f"{why}; set in {origin}")
    return problems


def parameter_spec(path: Path) -> dict[str, dict[str, Any]] | None:
    """The spec in the notebook's ``validate-parameters`` cell; ``None`` when it has none."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if SPEC_TAG in c.get("metadata", {}).get("tags", [])]
    if not cells:
        return None
    if len(cells) > 1:
        raise MLAccelInputError(
            f"{path.name} has {len(cells)} cells tagged {SPEC_TAG!r}; it needs at most one"
        )
    try:
        spec = spec_from_source(cells[0].source)
    except MLAccelInputError as exc:
        raise MLAccelInputError(f"{path.name}, the cell tagged {SPEC_TAG!r}, {exc}") from exc
    if spec is None:
        raise MLAccelInputError(
            f"{path.name}: the cell tagged {SPEC_TAG!r} must call "
            "check_parameters(globals(), {...}) with the parameters' spec"
        )
    wrong = spec_problems(spec)
    if wrong:
        raise MLAccelInputError(
            f"{path.name}: the spec in the {SPEC_TAG} cell is not valid: {'; '.join(wrong)}"
        )
    return spec


def _entry(path: Path, layers: Sequence[tuple[str, Mapping[str, Any]]]) -> SuiteEntry:
    """The entry for ``path`` from layers of values (lowest precedence first), each value
    remembered with the layer that set it."""
    parameters: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for origin, values in layers:
        parameters.update(values)
        sources.update(dict.fromkeys(values, origin))
    return SuiteEntry(path, parameters, sources)


def _declared_names(path: Path) -> set[str]:
    """The parameters ``path`` declares; none when it cannot be read (reported later)."""
    try:
        return set(notebook_parameters(path)) if path.is_file() else set()
    except MLAccelInputError:
        return set()


def _choose_from(name: str, declared: set[str]) -> str:
    """The fix for an undeclared parameter: the close name meant, else every declared one.

    Examples
    --------
    >>> _choose_from("seedz", {"seed", "n_rows"})
    "did you mean 'seed'?"
    >>> _choose_from("rows", {"seed", "backend"})
    'the parameters declared are backend, seed'
    """
    import difflib

    close = difflib.get_close_matches(name, sorted(declared), n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"the parameters declared are {', '.join(sorted(declared))}"


def _only(values: Mapping[str, Any], names: set[str]) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name in names}


def _is_parameter_map(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(key, str) for key in value)


def _suite_shape_problems(suite: Any, suite_file: Path) -> list[str]:
    if not isinstance(suite, dict) or not isinstance(suite.get("notebooks"), list):
        return [
            f"suite file {suite_file} must hold a mapping with a 'notebooks' list, "
            "e.g. 'notebooks: [{path: 01_explore_data.ipynb}]'"
        ]
    problems = [
        f"suite file {suite_file}: unknown key {key!r}; it may have {', '.join(SUITE_KEYS)}"
        for key in suite
        if key not in SUITE_KEYS
    ]
    if not _is_parameter_map(suite.get("defaults") or {}):
        problems.append(f"suite file {suite_file}: 'defaults' must map parameter names to values")
    for position, item in enumerate(suite["notebooks"], 1):
        where = f"suite file {suite_file}, notebook {position} of the list"
        problems += [f"{where}: {problem}" for problem in _suite_item_problems(item)]
    return problems


def _suite_item_problems(item: Any) -> list[str]:
    if isinstance(item, str):
        return []
    if not isinstance(item, dict) or not isinstance(item.get("path"), str):
        return ["give a notebook's path, or a mapping with 'path' and optional 'parameters'"]
    problems = [
        f"unknown key {key!r}; an entry may have {', '.join(SUITE_ITEM_KEYS)}"
        for key in item
        if key not in SUITE_ITEM_KEYS
    ]
    if not _is_parameter_map(item.get("parameters") or {}):
        problems.append("'parameters' must map parameter names to values")
    return problems


def _overrides_shape_problems(overrides: Any, source: str) -> list[str]:
    if overrides is None:
        return []
    if not isinstance(overrides, Mapping):
        return [
            f"{source} must be a mapping of 'defaults' and notebook names to parameters, "
            f"e.g. '03_train_model: {{tuning_jobs: 2}}'; it holds a {type(overrides).__name__}"
        ]
    return [
        f"{source}: {key} must map parameter names to values, e.g. '{key}: {{seed: 1}}'; "
        f"it holds {value!r}"
        for key, value in overrides.items()
        if value is not None and not _is_parameter_map(value)
    ]


def raise_problems(problems: list[str]) -> None:
    """One error for all ``problems``: the user fixes them in one go, and nothing ran."""
    if len(problems) == 1:
        raise MLAccelInputError(problems[0])
    if problems:
        raise MLAccelInputError(
            f"{len(problems)} problems; nothing ran:\n"
            + "\n".join(f"  - {problem}" for problem in problems)
        )


def notebook_parameters(path: Path) -> dict[str, Any]:
    """The literals assigned in the notebook's ``parameters`` cell."""
    import ast

    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(cells) != 1:
        raise MLAccelInputError(
            f"{path.name} has {len(cells)} cells tagged 'parameters'; it needs exactly one"
        )
    values: dict[str, Any] = {}
    for node in ast.parse(cells[0].source).body:
        if not (isinstance(node, ast.Assign | ast.AnnAssign)):
            raise MLAccelInputError(
                f"{path.name}: the parameters cell may only assign literals (line {node.lineno})"
            )
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if node.value is None:
            continue
        try:
            value = ast.literal_eval(node.value)
        except ValueError as exc:
            raise MLAccelInputError(
                f"{path.name}: parameter on line {node.lineno} is not a literal"
            ) from exc
        for target in targets:
            if isinstance(target, ast.Name):
                values[target.id] = value
    return values
