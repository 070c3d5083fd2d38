"""``vaultkit rule``: print a rule's documentation, or list every rule."""

from __future__ import annotations

import click

from .common import dump_json

__all__ = ["rule_cmd", "register"]


@click.command("rule", short_help="Explain a lint rule (e.g. VK101), or list them all with --all.")
@click.argument("code", required=False)
@click.option("--all", "all_", is_flag=True, help="List every rule.")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="markdown: the rules reference of docs/lint.md.")
def rule_cmd(code: str | None, all_: bool, fmt: str) -> None:
    """Explain the lint rule CODE (e.g. VK101), or list them all with --all.

    \b
    vaultkit rule VK101
    vaultkit rule --all
    vaultkit rule --all --format json
    """
    from ..rules import REGISTRY, UnknownRuleError, get, rules_markdown

    if (code is None) == (not all_):
        raise click.UsageError("give a rule CODE or --all (not both)")
    if code is not None:
        try:
            r = get(code)
        except UnknownRuleError as exc:
            raise click.BadParameter(str(exc), param_hint="CODE") from None
        if fmt == "json":
            click.echo(dump_json(r.to_dict()))
        elif fmt == "markdown":
            click.echo(f"## {r.code} {r.name}\n\n{r.summary}\n\n{r.doc}")
        else:
            click.echo(r.full_doc(), nl=False)
        return
    if fmt == "json":
        click.echo(dump_json({"rules": [r.to_dict() for r in REGISTRY.values()]}))
    elif fmt == "markdown":
        click.echo(rules_markdown(), nl=False)
    else:
        width = max(len(r.name) for r in REGISTRY.values())
        for r in REGISTRY.values():
            click.echo(f"{r.code}  {r.name:<{width}}  {r.severity:<7}  {r.summary}")


def register(group: click.Group) -> None:
    """Add ``rule`` to ``group``."""
    group.add_command(rule_cmd)
