"""``mailwarden simulate takeover``: the fire drill."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Annotated

import typer

from mailwarden.cli.common import ConfigOpt, DataDirOpt, JsonOpt, LangOpt, settings

if TYPE_CHECKING:
    from mailwarden.drill import DrillResult

app = typer.Typer(help="Fire drills against a deployment.", no_args_is_help=True)


def _held_from_store(result: DrillResult, url: str, since: float, wait: float) -> set[str]:
    """Queue ids Mailwarden recorded as held (it writes behind, so wait a flush first)."""
    from mailwarden.store.store import Store

    time.sleep(wait)
    wanted = set(result.queue_ids)
    return {str(d["queue_id"]) for d in Store(url).decisions(since) if d["queue_id"] in wanted}


@app.command("takeover")
def takeover(
    account: Annotated[str, typer.Option(help="SASL account the attacker stole.")],
    policy: Annotated[str | None, typer.Option(
        help="Attack a policy server straight: HOST:PORT.")] = None,
    smtp: Annotated[str | None, typer.Option(help="Attack through SMTP AUTH: HOST:PORT.")] = None,
    password: Annotated[str, typer.Option(envvar="MAILWARDEN_DRILL_PASSWORD",
                                          help="Password for SMTP AUTH.")] = "",
    sender: Annotated[str, typer.Option(help="Envelope sender (default: the account).")] = "",
    client_address: Annotated[str, typer.Option(
        help="Where the attacker appears to be (XCLIENT ADDR); default in Brazil.")]
        = "200.147.67.142",
    count: Annotated[int, typer.Option(help="Messages to send.")] = 50,
    rate: Annotated[float, typer.Option(help="Messages per second.")] = 3.0,
    recipients: Annotated[int, typer.Option(help="Recipients per message.")] = 1,
    recipient_domain: Annotated[str, typer.Option(
        help="Domain of the (fake) victims.")] = "example.net",
    xclient: Annotated[bool, typer.Option(help="Use XCLIENT to pose as client-address.")] = True,
    starttls: Annotated[bool, typer.Option(help="STARTTLS before AUTH.")] = False,
    postqueue_config: Annotated[str | None, typer.Option(
        help="Count held mail with `postqueue -c DIR -j` (SMTP mode).")] = None,
    config: ConfigOpt = None, data_dir: DataDirOpt = None, as_json: JsonOpt = False,
    lang: LangOpt = "en",
) -> None:
    """Play a stolen-password burst and report how many messages got through before the hold."""
    from mailwarden import i18n
    from mailwarden.drill import Attack, postqueue_held, via_policy, via_smtp
    from mailwarden.service import parse_listen

    if (policy is None) == (smtp is None):
        typer.echo("mailwarden: " + i18n.render("cli.simulate.one_target", lang), err=True)
        raise typer.Exit(2)
    attack = Attack(account, sender or account, client_address, count, rate, recipients,
                    recipient_domain)
    started = time.time()
    try:
        if policy is not None:
            target = parse_listen(policy, "policy")
            assert target is not None
            result = via_policy(attack, *target)
        else:
            target = parse_listen(smtp or "", "smtp")
            assert target is not None
            result = via_smtp(attack, target[0], target[1], account, password,
                              xclient=xclient, starttls=starttls)
            if postqueue_config is not None:
                held = postqueue_held(postqueue_config or None) & set(result.queue_ids)
            else:
                cfg = settings(config, data_dir)
                held = _held_from_store(result, cfg.store_url, started,
                                        3 * cfg.store.flush_interval + 0.5)
            result.held_ids = [q for q in result.queue_ids if q in held]
            result.held = len(result.held_ids)
            result.first_hold = (result.queue_ids.index(result.held_ids[0])
                                 if result.held_ids else None)
    except (OSError, ValueError) as exc:
        typer.echo("mailwarden: " + i18n.render("cli.simulate.failed", lang, error=exc),
                   err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
        return
    typer.echo(i18n.render("cli.simulate.counts", lang, sent=result.sent,
                           accepted=result.accepted, held=result.held, refused=result.refused,
                           seconds=f"{result.seconds:.1f}"))
    first = ("" if result.first_hold is None else
             i18n.render("cli.simulate.first_hold", lang, number=result.first_hold + 1))
    typer.echo(i18n.render("cli.simulate.got_through", lang, count=result.got_through) + first)
