"""The workflow as a picture: states in layers from the start, parallel branches inset."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _edges(states: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Every transition as (from, to, kind): kind is "", "choice", "default" or "catch"."""
    edges = []
    for name, state in states.items():
        if "Next" in state:
            edges.append((name, state["Next"], ""))
        for choice in state.get("Choices", []):
            edges.append((name, choice["Next"], "choice"))
        if "Default" in state:
            edges.append((name, state["Default"], "default"))
        for catch in state.get("Catch", []):
            edges.append((name, catch["Next"], "catch"))
    return edges


def graph_layers(definition: Mapping[str, Any]) -> list[list[str]]:
    """States grouped by their distance from StartAt along Next and Choice edges.

    States reachable only through a Catch come last.

    Examples
    --------
    >>> graph_layers({"StartAt": "A", "States": {
    ...     "A": {"Type": "Task", "Next": "B", "Catch": [{"Next": "F"}]},
    ...     "B": {"Type": "Succeed"}, "F": {"Type": "Fail"}}})
    [['A'], ['B'], ['F']]
    """
    states = definition["States"]
    forward = {
        n: [b for a, b, kind in _edges(states) if a == n and kind != "catch"] for n in states
    }
    depth = {definition["StartAt"]: 0}
    frontier = [definition["StartAt"]]
    while frontier:
        following = []
        for name in frontier:
            for nxt in forward[name]:
                if nxt not in depth:
                    depth[nxt] = depth[name] + 1
                    following.append(nxt)
        frontier = following
    for name in states:  # reachable only through Catch
        depth.setdefault(name, max(depth.values()) + 1)
    layers: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for name in states:
        layers[depth[name]].append(name)
    return layers


STATE_COLOURS = {
    "Task": "#dbe9f6",
    "Choice": "#fdf0c2",
    "Parallel": "#e4d9f3",
    "Pass": "#eeeeee",
    "Wait": "#eeeeee",
    "Succeed": "#cfeccf",
    "Fail": "#f6cfcf",
}


def plot_graph(definition: Mapping[str, Any], *, title: str = "") -> Any:
    """The workflow as a figure: states top to bottom, parallel branches inset, catches dashed.

    Parameters
    ----------
    definition
        A state machine definition (``workflow.definition.to_dict()``).
    title
        The figure's title (``workflow`` by default).

    Returns
    -------
    matplotlib.figure.Figure
        The figure, one box per state coloured by type (``STATE_COLOURS``).

    Examples
    --------
    >>> fig = plot_graph(training.definition.to_dict(), title=training.name)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    states = dict(definition["States"])
    layers = graph_layers(definition)
    width = max(len(layer) for layer in layers)
    fig, ax = plt.subplots(figsize=(min(16, 3.2 * width + 1), 0.75 * len(layers) + 1))
    where: dict[str, tuple[float, float]] = {}
    for row, layer in enumerate(layers):
        for col, name in enumerate(layer):
            where[name] = ((col + 0.5) * width / len(layer), -row)
    for source, target, kind in _edges(states):
        (x0, y0), (x1, y1) = where[source], where[target]
        ax.annotate(
            "",
            xy=(x1, y1 + 0.18),
            xytext=(x0, y0 - 0.18),
            arrowprops={
                "arrowstyle": "->",
                "color": "#c0392b" if kind == "catch" else "#555555",
                "linestyle": "--" if kind == "catch" else "-",
                "alpha": 0.35 if kind == "catch" else 0.9,
            },
        )
    for name, (x, y) in where.items():
        state = states[name]
        ax.text(
            x,
            y,
            _label(name, state),
            ha="center",
            va="center",
            fontsize=8,
            bbox={"boxstyle": "round", "fc": STATE_COLOURS.get(state["Type"], "#ffffff")},
        )
    ax.set_xlim(0, width)
    ax.set_ylim(-len(layers) + 0.4, 0.6)
    ax.axis("off")
    ax.set_title(title or "workflow")
    fig.tight_layout()
    fig.set_label(graph_alt_text(definition, title=title))  # the image's alternative text
    return fig


def graph_alt_text(definition: Mapping[str, Any], *, title: str = "") -> str:
    """A sentence describing :func:`plot_graph`'s figure, for readers who cannot see it.

    Examples
    --------
    >>> graph_alt_text({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    'Graph of the workflow state machine: 1 state, starting at A; no Fail states.'
    """
    states = definition["States"]
    fails = sorted(name for name, state in states.items() if state["Type"] == "Fail")
    branches = sum(len(s.get("Branches", [])) for s in states.values())
    count = f"{len(states)} state{'s' if len(states) != 1 else ''}"
    text = f"Graph of the {title or 'workflow'} state machine: {count}"
    text += f", starting at {definition['StartAt']}"
    if branches:
        text += f", {branches} parallel branches"
    return text + (f"; failures end in {', '.join(fails)}." if fails else "; no Fail states.")


def _label(name: str, state: Mapping[str, Any]) -> str:
    """A state's box text: its name, and a Parallel's branches one per line."""
    if state["Type"] != "Parallel":
        return name
    inner = [" → ".join(branch["States"]) for branch in state["Branches"]]
    return name + "\n" + "\n".join(f"‖ {text}" for text in inner)
