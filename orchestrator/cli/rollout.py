"""`orch rollout status|history|undo|restart|pause|resume deploy/NAME`: follow and steer rollouts
(`status` and `restart` take `ds/NAME` too).

`status` follows the Deployment (watch) and prints a line each time the progress
message changes, kubectl's wording, until it is rolled out (exit 0) or its progress
deadline passed (exit 1). `undo` copies the pod template of a recorded revision (the
one before the current, or `--to-revision N`) back into the Deployment, which the
Deployment controller then rolls out like any change.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime, timezone
from typing import Any

from orchestrator.cli.common import (CliError, add_client_flags, add_namespace_flags, namespace_of, out, run_client,
                                     split_targets)
from orchestrator.cli.printing import dump_yaml
from orchestrator.client import Client
from orchestrator.controllers.owners import controller_uid
from orchestrator.controllers.rollouts import CHANGE_CAUSE, HASH_LABEL, revision_number, same_template
from orchestrator.model import codec
from orchestrator.model.base import clone

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
TIMED_OUT = "ProgressDeadlineExceeded"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("rollout", help="follow, undo, restart, pause or resume a Deployment's rollout",
                       description="Manage the rollout of a Deployment.")
    p.set_defaults(handler=run, verb="")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    for verb, text in (("status", "follow the rollout until it is done or failed"),
                       ("history", "list the recorded revisions"),
                       ("undo", "roll back to the previous revision (or --to-revision N)"),
                       ("restart", "replace every pod, one step at a time"),
                       ("pause", "stop rolling out changes until resumed"),
                       ("resume", "roll out changes again")):
        v = verbs.add_parser(verb, help=text, description=text)
        v.add_argument("targets", nargs="+", metavar="deploy/NAME")
        add_namespace_flags(v)
        if verb == "status":
            v.add_argument("-w", "--watch", default="true", choices=("true", "false"),
                           help="follow until done (default true)")
            v.add_argument("--timeout", type=float, default=0.0, help="seconds to follow; 0: no limit")
        if verb == "history":
            v.add_argument("--revision", type=int, default=0, help="show the pod template of this revision")
        if verb == "undo":
            v.add_argument("--to-revision", type=int, default=0, help="the revision to go back to (default: previous)")
        add_client_flags(v)
        v.set_defaults(handler=run)


DAEMONSET_VERBS = ("status", "restart")  # DaemonSets keep no revision history here (no ControllerRevisions)


def _target(args: argparse.Namespace) -> tuple[str, str]:
    """(kind, name): a Deployment for every verb, a DaemonSet for status and restart."""
    targets = split_targets(args.targets)
    if len(targets) != 1 or len(targets[0][1]) != 1:
        raise CliError("give one target: deploy/NAME (or ds/NAME for status and restart)")
    kind, names = targets[0]
    if kind.kind == "DaemonSet" and args.verb not in DAEMONSET_VERBS:
        raise CliError(f"rollout {args.verb} works on deployments; daemonsets take {' and '.join(DAEMONSET_VERBS)}")
    if kind.kind not in ("Deployment", "DaemonSet"):
        raise CliError(f"rollout works on deployments and daemonsets, not {kind.plural}")
    return kind.kind, names[0]


def run(args: argparse.Namespace) -> int:
    if not args.verb:
        raise CliError("give a verb: orch rollout status|history|undo|restart|pause|resume deploy/NAME")
    kind, name = _target(args)
    if kind == "DaemonSet":
        fn = {"status": daemonset_status, "restart": daemonset_restart}[args.verb]
    else:
        fn = {"status": status, "history": history, "undo": undo, "restart": restart,
              "pause": lambda c, ns, n, a: set_paused(c, ns, n, True),
              "resume": lambda c, ns, n, a: set_paused(c, ns, n, False)}[args.verb]
    return run_client(args, lambda client, a: fn(client, namespace_of(a), name, a))


# ---- status -----------------------------------------------------------------------------

def status_message(d: Any) -> tuple[str, bool]:
    """(message, done) for one look at a Deployment; raises CliError when it failed (kubectl's logic)."""
    name = d.metadata.name
    st = d.status
    if d.metadata.generation > st.observed_generation:
        return "Waiting for deployment spec update to be observed...", False
    cond = next((c for c in st.conditions if c.type == "Progressing"), None)
    if cond is not None and cond.reason == TIMED_OUT:
        raise CliError(f'deployment "{name}" exceeded its progress deadline')
    want = d.spec.replicas if d.spec.replicas is not None else 1
    if st.updated_replicas < want:
        return (f'Waiting for deployment "{name}" rollout to finish: {st.updated_replicas} out of {want} '
                "new replicas have been updated..."), False
    if st.replicas > st.updated_replicas:
        return (f'Waiting for deployment "{name}" rollout to finish: {st.replicas - st.updated_replicas} '
                "old replicas are pending termination..."), False
    if st.available_replicas < st.updated_replicas:
        return (f'Waiting for deployment "{name}" rollout to finish: {st.available_replicas} of '
                f"{st.updated_replicas} updated replicas are available..."), False
    return f'deployment "{name}" successfully rolled out', True


def daemonset_status_message(ds: Any) -> tuple[str, bool]:
    """(message, done) for one look at a DaemonSet (kubectl's DaemonSetStatusViewer)."""
    name, st = ds.metadata.name, ds.status
    strategy = ds.spec.update_strategy.type if ds.spec.update_strategy is not None else "RollingUpdate"
    if strategy == "OnDelete":
        raise CliError("rollout status is only available for RollingUpdate strategy type")
    if ds.metadata.generation > st.observed_generation:
        return "Waiting for daemon set spec update to be observed...", False
    if st.updated_number_scheduled < st.desired_number_scheduled:
        return (f'Waiting for daemon set "{name}" rollout to finish: {st.updated_number_scheduled} out of '
                f"{st.desired_number_scheduled} new pods have been updated..."), False
    if st.number_available < st.desired_number_scheduled:
        return (f'Waiting for daemon set "{name}" rollout to finish: {st.number_available} of '
                f"{st.desired_number_scheduled} updated pods are available..."), False
    return f'daemon set "{name}" successfully rolled out', True


async def status(client: Client, namespace: str, name: str, args: argparse.Namespace, *,
                 resource: str = "deployments", message_of: Any = status_message) -> int:
    obj = await client.get(resource, name, namespace=namespace)
    message, done = message_of(obj)
    out(message)
    if done or getattr(args, "watch", "true") == "false":
        return 0
    timeout = getattr(args, "timeout", 0.0) or None
    what = "deployment" if resource == "deployments" else "daemon set"
    try:
        async with asyncio.timeout(timeout):
            return await _follow(client, namespace, name, obj, message, resource=resource, message_of=message_of)
    except TimeoutError:
        raise CliError(f"timed out waiting for the rollout of {what} \"{name}\"") from None


async def daemonset_status(client: Client, namespace: str, name: str, args: argparse.Namespace) -> int:
    return await status(client, namespace, name, args, resource="daemonsets", message_of=daemonset_status_message)


async def _follow(client: Client, namespace: str, name: str, d: Any, last: str, *, resource: str,
                  message_of: Any) -> int:
    stream = client.watch(resource, namespace=namespace, field_selector=f"metadata.name={name}",
                          resource_version=d.metadata.resource_version)
    try:
        async for ev in stream:
            if ev.type == "DELETED":
                raise CliError(f'{resource[:-1]} "{name}" was deleted')
            if ev.type not in ("ADDED", "MODIFIED"):
                continue
            message, done = message_of(ev.object)
            if message != last:
                out(message)
                last = message
            if done:
                return 0
    finally:
        await stream.aclose()
    raise CliError("the watch ended before the rollout did")


# ---- history and undo -------------------------------------------------------------------

async def _with_revisions(client: Client, namespace: str, name: str) -> tuple[Any, dict[int, Any]]:
    d = await client.get("deployments", name, namespace=namespace)
    return d, await revisions(client, namespace, d)


async def revisions(client: Client, namespace: str, d: Any) -> dict[int, Any]:
    """The Deployment's ReplicaSets by revision."""
    listed = await client.list_all("replicasets", namespace=namespace)
    return {revision_number(rs): rs for rs in listed.items if controller_uid(rs) == d.metadata.uid}


async def history(client: Client, namespace: str, name: str, args: argparse.Namespace) -> int:
    d, revs = await _with_revisions(client, namespace, name)
    wanted = getattr(args, "revision", 0)
    if wanted:
        if wanted not in revs:
            raise CliError(f"unable to find the specified revision {wanted}")
        out(f"deployment.apps/{name} with revision #{wanted}")
        out(dump_yaml({"Pod Template": codec.to_builtins(_template(revs[wanted]))}).rstrip("\n"))
        return 0
    out(f"deployment.apps/{name}")
    out(f"{'REVISION':<10}CHANGE-CAUSE")
    for rev in sorted(revs):
        out(f"{rev:<10}{revs[rev].metadata.annotations.get(CHANGE_CAUSE, '<none>')}")
    return 0


def _template(rs: Any) -> Any:
    t = clone(rs.spec.template)
    t.metadata.labels.pop(HASH_LABEL, None)
    return t


async def undo(client: Client, namespace: str, name: str, args: argparse.Namespace) -> int:
    d, revs = await _with_revisions(client, namespace, name)
    to = getattr(args, "to_revision", 0)
    if to:
        if to not in revs:
            raise CliError(f"unable to find specified revision {to} in history")
    else:
        older = sorted(revs)[:-1]
        if not older:
            raise CliError(f'no rollout history found for deployment "{name}"')
        to = older[-1]
    template = _template(revs[to])
    if same_template(template, d.spec.template):
        out(f"deployment.apps/{name} skipped rollback (current template already matches revision {to})")
        return 0
    patch = [{"op": "test", "path": "/metadata/resourceVersion", "value": d.metadata.resource_version},
             {"op": "replace", "path": "/spec/template", "value": codec.to_builtins(template)}]
    await client.patch("deployments", name, patch, namespace=namespace, patch_type="json")
    out(f"deployment.apps/{name} rolled back")
    return 0


# ---- restart, pause, resume -------------------------------------------------------------

async def restart(client: Client, namespace: str, name: str, args: argparse.Namespace) -> int:
    d = await client.get("deployments", name, namespace=namespace)
    if d.spec.paused:
        raise CliError("can't restart paused deployment (run rollout resume first)")
    return await _restart(client, namespace, name, resource="deployments", shown="deployment.apps")


async def daemonset_restart(client: Client, namespace: str, name: str, args: argparse.Namespace) -> int:
    await client.get("daemonsets", name, namespace=namespace)  # NotFound says so
    return await _restart(client, namespace, name, resource="daemonsets", shown="daemonset.apps")


async def _restart(client: Client, namespace: str, name: str, *, resource: str, shown: str) -> int:
    """A new template annotation: the controller replaces every pod, as a rollout does."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    await client.patch(resource, name, {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}},
                       namespace=namespace)
    out(f"{shown}/{name} restarted")
    return 0


async def set_paused(client: Client, namespace: str, name: str, paused: bool) -> int:
    d = await client.get("deployments", name, namespace=namespace)
    word = "paused" if paused else "resumed"
    if d.spec.paused == paused:
        out(f"deployment.apps/{name} is already {word}")
        return 0
    await client.patch("deployments", name, {"spec": {"paused": paused}}, namespace=namespace)
    out(f"deployment.apps/{name} {word}")
    return 0
