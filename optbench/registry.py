"""Plugin discovery and the registry of objectives, optimizers and backends.

Entry points of the ``optbench`` group are loaded one at a time. A plugin whose optional
dependency is missing (it raises :class:`~optbench.errors.NotInstalledError` on import) is
listed in ``Registry.not_installed`` with the command that installs it. A plugin that fails to
import, implements a hook that does not exist, or fails while registering is recorded in
``Registry.broken`` with a one-line reason and contributes nothing; every other plugin still
loads. Two plugins registering the same name for the same kind is a
:class:`~optbench.errors.PluginConflictError` naming both.

Environment variables (as pytest and tox have them):

``OPTBENCH_DISABLE_PLUGIN_AUTOLOAD``
    when set to a non-empty value, only the built-in plugins (distribution ``optbench``) load.
``OPTBENCH_BLOCK_PLUGINS``
    comma-separated entry-point names that are not loaded at all (built-ins included).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from . import hookspecs
from .backend import Backend
from .errors import CapabilityError, NotInstalledError, PluginConflictError, UnknownNameError, suggest
from .objective import Objective
from .optimizer import Optimizer
from .vocabulary import PLUGIN_KINDS

GROUP = "optbench"
BUILTIN_DISTRIBUTION = "optbench"
ENV_DISABLE_AUTOLOAD = "OPTBENCH_DISABLE_PLUGIN_AUTOLOAD"
ENV_BLOCK = "OPTBENCH_BLOCK_PLUGINS"
RESERVED_BACKENDS = frozenset({"torch", "dual", "tape", "jax", "dual_compiled", "tape_compiled"})

# kind -> (hook name, base class, singular noun)
KINDS = dict(zip(PLUGIN_KINDS, (
    ("optbench_register_objectives", Objective, "objective"),
    ("optbench_register_optimizers", Optimizer, "optimizer"),
    ("optbench_register_backends", Backend, "backend"),
)))
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Spec:
    """A registered class and who provided it."""

    name: str
    kind: str
    cls: type
    plugin: str
    distribution: str

    @property
    def description(self) -> str:
        text = self.cls.description or (self.cls.__doc__ or "").strip()
        return text.splitlines()[0] if text else ""

    def describe(self) -> dict:
        """Name, provider, description and what this kind declares, as plain data."""
        out: dict[str, Any] = {"name": self.name, "description": self.description,
                               "plugin": self.plugin, "distribution": self.distribution}
        if self.kind == "backends":
            out["capabilities"] = self.cls.capabilities.describe()
        else:
            out["params"] = {k: p.describe() for k, p in self.cls.params.items()}
        if self.kind == "optimizers":
            out["needs"] = list(self.cls.needs)
        if self.kind == "objectives":
            out.update(convex=self.cls.convex, smooth=self.cls.smooth,
                       dim_range=list(self.cls.dim_range), default_dim=self.cls.default_dim)
        return out


@dataclass(frozen=True)
class BrokenPlugin:
    """A plugin that could not be loaded, and why."""

    name: str
    distribution: str
    reason: str


@dataclass(frozen=True)
class MissingPlugin:
    """A plugin whose optional dependency is not installed, and how to install it."""

    name: str
    distribution: str
    requirement: str
    install: str
    provides: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class PluginInfo:
    """One loaded plugin: where it comes from and what it registered."""

    name: str
    distribution: str
    version: str
    module: str
    hooks: list[str] = field(default_factory=list)
    registered: dict[str, list[str]] = field(default_factory=dict)


class _PluginManager(pluggy.PluginManager):
    """Also treats undecorated ``optbench_*`` functions as hook implementations.

    Otherwise a plugin that forgot ``@hookimpl`` would silently register nothing.
    """

    def parse_hookimpl_opts(self, plugin, name):
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("optbench_") and callable(getattr(plugin, name, None)):
            return {}
        return opts


class Registry:
    """Every objective, optimizer and backend the installed plugins registered."""

    def __init__(self):
        self.objectives: dict[str, Spec] = {}
        self.optimizers: dict[str, Spec] = {}
        self.backends: dict[str, Spec] = {}
        self.broken: list[BrokenPlugin] = []
        self.not_installed: list[MissingPlugin] = []
        self.blocked: list[str] = []
        self.plugins: list[PluginInfo] = []
        self._pm = _PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)

    # ---- lookups ---------------------------------------------------------------------------
    def get(self, kind: str, name: str) -> Spec:
        """The spec of ``name`` among ``kind``; unknown names list the close matches."""
        table: dict[str, Spec] = getattr(self, kind)
        if name not in table:
            missing = self.missing(kind, name)
            if missing is not None:  # a cell using it is skipped with this reason, not crashed
                raise CapabilityError(f"{KINDS[kind][2]} {name!r} is not installed: plugin {missing.name!r} "
                                      f"needs {missing.requirement}; install it with {missing.install}")
            raise UnknownNameError(KINDS[kind][2], name, table)
        return table[name]

    def missing(self, kind: str, name: str) -> MissingPlugin | None:
        """The not-installed plugin that would provide ``name`` among ``kind``, if any."""
        return next((m for m in self.not_installed if name in m.provides.get(kind, ())), None)

    def backend(self, name: str, **options: Any) -> Backend:
        return self.get("backends", name).cls(**options)

    def objective(self, name: str, **params: Any) -> Objective:
        return self.get("objectives", name).cls(**params)

    def optimizer(self, name: str, **params: Any) -> Optimizer:
        return self.get("optimizers", name).cls(**params)

    # ---- loading ---------------------------------------------------------------------------
    def add(self, plugin: Any, name: str, distribution: str = "", version: str = "") -> None:
        """Register one plugin object (module, class or instance) and run its hooks.

        Failures are recorded in :attr:`broken`; a name clash raises.
        """
        try:
            self._pm.register(plugin, name=name)
        except Exception as exc:  # pluggy's validation names the hook and the problem
            self.broken.append(BrokenPlugin(name, distribution, _one_line(exc)))
            return
        try:
            self._check_hooks(plugin)
            staged = self._collect(plugin, name, distribution)
        except Exception as exc:
            self._pm.unregister(plugin)
            self.broken.append(BrokenPlugin(name, distribution, _one_line(exc)))
            return
        info = PluginInfo(name, distribution, version, getattr(plugin, "__name__", repr(plugin)),
                          hooks=sorted(h.name for h in self._pm.get_hookcallers(plugin) or []))
        for kind, specs in staged.items():
            table: dict[str, Spec] = getattr(self, kind)
            for spec in specs:
                if spec.name in table:
                    other = table[spec.name]
                    raise PluginConflictError(
                        f"{KINDS[kind][2]} {spec.name!r} is registered twice: by plugin "
                        f"{other.plugin!r} ({other.distribution or 'no distribution'}) and by plugin "
                        f"{spec.plugin!r} ({spec.distribution or 'no distribution'}); block one with "
                        f"{ENV_BLOCK}={spec.plugin}"
                    )
                table[spec.name] = spec
            info.registered[kind] = [s.name for s in specs]
        self.plugins.append(info)

    def _check_hooks(self, plugin: Any) -> None:
        """Reject hook implementations whose name is not a hook (a misspelling, say)."""
        for caller in self._pm.get_hookcallers(plugin) or []:
            if not caller.has_spec():
                known = [k[0] for k in KINDS.values()]
                raise ValueError(f"unknown hook {caller.name!r}{suggest(caller.name, known)}")
        self._pm.check_pending()

    def _collect(self, plugin: Any, name: str, distribution: str) -> dict[str, list[Spec]]:
        """Call this plugin's hooks only, collecting what it registers (all or nothing)."""
        staged: dict[str, list[Spec]] = {}
        for kind, (hook_name, base, noun) in KINDS.items():
            hook = getattr(self._pm.hook, hook_name)
            for impl in hook.get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                specs = staged.setdefault(kind, [])

                def register(cls, _kind=kind, _base=base, _noun=noun, _specs=specs):
                    _specs.append(self._spec(_kind, _base, _noun, cls, name, distribution))

                impl.function(register=register)
        return staged

    @staticmethod
    def _spec(kind: str, base: type, noun: str, cls: Any, plugin: str, distribution: str) -> Spec:
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"register() expects a subclass of optbench.{base.__name__}, got {cls!r}")
        spec_name = getattr(cls, "name", None)
        if not isinstance(spec_name, str) or not _NAME.match(spec_name):
            raise TypeError(f"{noun} class {cls.__name__} needs a 'name' of letters, digits, '_', '.' or '-', "
                            f"got {spec_name!r}")
        if kind == "backends" and spec_name in RESERVED_BACKENDS and distribution != BUILTIN_DISTRIBUTION:
            raise ValueError(f"backend name {spec_name!r} is reserved for optbench's built-in backend")
        return Spec(spec_name, kind, cls, plugin, distribution)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def entry_points() -> list[metadata.EntryPoint]:
    """The entry points of the ``optbench`` group, in a stable order."""
    return sorted(metadata.entry_points(group=GROUP), key=lambda ep: ep.name)


def build_registry(eps: list[metadata.EntryPoint] | None = None) -> Registry:
    """Load ``eps`` (default: every installed ``optbench`` entry point) into a new registry."""
    registry = Registry()
    autoload = not os.environ.get(ENV_DISABLE_AUTOLOAD)
    blocked = {b.strip() for b in os.environ.get(ENV_BLOCK, "").split(",") if b.strip()}
    for ep in entry_points() if eps is None else eps:
        dist = ep.dist.name if ep.dist is not None else ""
        version = ep.dist.version if ep.dist is not None else ""
        if ep.name in blocked or (not autoload and dist != BUILTIN_DISTRIBUTION):
            registry.blocked.append(ep.name)
            continue
        try:
            plugin = ep.load()
        except NotInstalledError as exc:
            registry.not_installed.append(MissingPlugin(ep.name, dist, exc.requirement, exc.install, exc.provides))
            continue
        except Exception as exc:
            registry.broken.append(BrokenPlugin(ep.name, dist, _one_line(exc)))
            continue
        registry.add(plugin, ep.name, dist, version)
    return registry


_registry: Registry | None = None


def load_registry(refresh: bool = False) -> Registry:
    """The registry of installed plugins, loaded once per process (``refresh`` reloads)."""
    global _registry
    if _registry is None or refresh:
        _registry = build_registry()
    return _registry


def backend(name: str, **options: Any) -> Backend:
    """A ready instance of the backend ``name``."""
    return load_registry().backend(name, **options)


def objective(name: str, **params: Any) -> Objective:
    """A ready instance of the objective ``name`` with validated ``params``."""
    return load_registry().objective(name, **params)


def optimizer(name: str, **params: Any) -> Optimizer:
    """A ready instance of the optimizer ``name`` with validated ``params``."""
    return load_registry().optimizer(name, **params)


__all__ = ["Registry", "Spec", "BrokenPlugin", "MissingPlugin", "PluginInfo", "build_registry", "load_registry",
           "backend", "objective", "optimizer", "entry_points"]
