"""`parcours staff ...`: team members, their roles, passwords and API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from engine.cli.context import actor, run, state

commands = typer.Typer(help="Membres des équipes et leurs rôles.", no_args_is_help=True)


@commands.command("add")
def staff_add(
    email: str,
    given_name: Annotated[str, typer.Option("--given-name", help="Prénom")],
    family_name: Annotated[str, typer.Option("--family-name", help="Nom")],
    role: Annotated[
        list[str], typer.Option(help="rôle@organisation, ex. cip@sato-interim (répétable)")
    ],
) -> None:
    """Créer un membre d'équipe et lui donner des rôles."""
    from engine.services.organisations import add_staff

    roles = []
    for item in role:
        name, sep, org = item.partition("@")
        if not sep:
            raise typer.BadParameter(f"« {item} » : attendu rôle@organisation", param_hint="--role")
        roles.append((org, name))

    def body() -> None:
        with state.runtime().unit_of_work() as s:
            person = add_staff(s, email, given_name, family_name, roles)
            typer.echo(f"{person.display_name} (n° {person.id}) : {', '.join(r for r in role)}")

    run(body)


@commands.command("password")
def staff_password(
    email: str,
    password: Annotated[
        str,
        typer.Option(
            prompt="Mot de passe",
            hide_input=True,
            confirmation_prompt=True,
            help="Au moins 12 caractères, pas un mot de passe courant (demandé s'il n'est "
            "pas donné)",
        ),
    ],
) -> None:
    """Donner (ou changer) le mot de passe de connexion d'un membre d'équipe ou partenaire."""
    from engine.services.accounts import set_password

    run(lambda: set_password(state.runtime(), email, password))
    typer.echo(f"Mot de passe enregistré pour {email} ; ses sessions ouvertes sont fermées.")


@commands.command("token")
def staff_token(
    email: str,
    name: Annotated[str, typer.Option("--name", help="Le système qui utilisera le jeton")],
) -> None:
    """Créer un jeton d'API (Authorization: Bearer) qui agit au nom de ce membre d'équipe."""
    from engine.services.accounts import create_api_token

    token = run(lambda: create_api_token(state.runtime(), email, name))
    typer.echo(token)
    typer.echo(
        "Conservez-le : il ne sera plus affiché. Pour le révoquer : "
        f"parcours staff revoke-token N (N donné par parcours staff tokens {email}).",
        err=True,
    )


@commands.command("tokens")
def staff_tokens(email: str) -> None:
    """Lister les jetons d'API d'un membre d'équipe (numéro, nom, création, révocation)."""
    from engine.dates import day_time
    from engine.services.accounts import api_tokens

    def body() -> None:
        tokens = api_tokens(state.runtime(), email)
        if not tokens:
            typer.echo(f"Aucun jeton d'API pour {email}.")
        for t in tokens:
            state_ = f"révoqué le {day_time(t.revoked_at)}" if t.revoked_at else "actif"
            typer.echo(f"{t.id}  {t.name}  créé le {day_time(t.created_at)}  {state_}")

    run(body)


@commands.command("revoke-token")
def staff_revoke_token(
    token_id: Annotated[int, typer.Argument(help="N° du jeton (parcours staff tokens)")],
) -> None:
    """Révoquer un jeton d'API : il est refusé dès l'appel suivant."""
    from engine.services.accounts import revoke_api_token

    token = run(lambda: revoke_api_token(state.runtime(), token_id))
    typer.echo(f"Jeton n° {token.id} « {token.name} » révoqué.")


ByOptional = Annotated[
    str | None,
    typer.Option("--by", help="Membre de l'équipe qui agit (défaut : l'exploitant du serveur)"),
]


@commands.command("remove-role")
def staff_remove_role(
    email: str,
    role: Annotated[str, typer.Option(help="rôle@organisation, ex. cip@sato-interim")],
    by: ByOptional = None,
) -> None:
    """Retirer un rôle à un membre d'équipe ; il cesse aussitôt d'agir à ce titre."""
    from engine.services.accounts import remove_role

    name, sep, org = role.partition("@")
    if not sep:
        raise typer.BadParameter(f"« {role} » : attendu rôle@organisation", param_hint="--role")
    run(lambda: remove_role(state.runtime(), email, org, name, by=actor(by)))
    typer.echo(f"Rôle {name} à {org} retiré à {email}.")


@commands.command("disable")
def staff_disable(email: str, by: ByOptional = None) -> None:
    """Désactiver un compte (départ) : rôles, sièges en comité et mot de passe retirés, sessions
    et jetons d'API arrêtés aussitôt. Pour le rétablir : staff add puis staff password."""
    from engine.services.accounts import disable

    done = run(lambda: disable(state.runtime(), email, by=actor(by)))
    typer.echo(
        f"Compte de {email} désactivé : {done.roles} rôle(s) retiré(s), {done.sessions} "
        f"session(s) fermée(s), {done.tokens} jeton(s) d'API révoqué(s)."
    )
