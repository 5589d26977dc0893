"""Kernel side of the integrity checks: trusted originals and the test-cell assertion rewriter.

This module's *source* is executed inside the learner's kernel before any notebook cell runs
(:func:`grader.integrity.hook.install`), so it imports nothing but the standard library and
leaves nothing in the user's namespace. :func:`install` captures the trusted originals (builtins,
``type``'s own descriptors, the modules loaded so far and the attributes of the modules tests
rely on) and registers an IPython AST transformer that rewrites **test cells only** (recognised
by the SHA-256 of their code, which the grader sends):

* comparisons ``a == b`` (and ``!=``, ``<``, ``in``...) fail when exactly one side gets its
  comparison, truthiness, length, items, numeric conversion... from a class defined by learner
  code, i.e. compared with a built-in value;
* truth tests (``assert x``, ``if``, ``not``, ``and``/``or``), subscripts and calls of trusted
  functions (``len``, ``float``, ``math.isclose``, ``numpy.allclose``, ``pandas.testing``...)
  fail the same way when handed such an object;
* names of builtins, module aliases and ``import`` statements resolve to the originals captured
  before learner code ran, so redefining ``len``, patching ``math.isclose`` or replacing
  ``sys.modules['numpy']`` changes nothing; ``isinstance`` ignores a forged ``__class__``.

A failure raises :class:`IntegrityError` (an ``AssertionError``) whose message says plainly what
happened; a contained trick publishes a small ``display_data`` record the grader removes and turns
into an instructor flag. Nothing here can stop code that deliberately dismantles this machinery
(it runs in the same interpreter); see the README's known limits.
"""

from __future__ import annotations

import _imp
import ast
import builtins
import contextlib
import hashlib
import itertools
import os
import reprlib
import sys
import sysconfig
import types
from collections.abc import Callable, Iterable
from typing import Any

#: The MIME type of the records that report a contained trick (removed from outputs by the grader).
EVENT_MIME = "application/vnd.nbcred.integrity+json"
#: A line in a test cell that switches the rewriting off for that cell.
OPT_OUT = "nbcred: allow-learner-objects"

#: Special methods through which a value can answer a test's question with its own code.
WATCHED = frozenset({
    "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__bool__", "__len__",
    "__getitem__", "__iter__", "__next__", "__contains__", "__reversed__", "__float__", "__int__",
    "__index__", "__complex__", "__abs__", "__round__", "__trunc__", "__floor__", "__ceil__",
    "__hash__", "__array__", "__array_ufunc__", "__array_function__", "__array_interface__",
    "__array_struct__", "__array_priority__", "__getattr__", "__getattribute__", "__class__",
    "__instancecheck__", "__subclasscheck__", "__add__", "__radd__", "__sub__", "__rsub__",
    "__mul__", "__rmul__", "__truediv__", "__rtruediv__", "__neg__", "__pos__", "__and__",
    "__rand__", "__or__", "__ror__", "__invert__", "__pandas_priority__", "__dataframe__",
})
TRUTH = ("__bool__", "__len__")
#: Builtins a test cell gets as originals; these calls also inspect their arguments.
CHECKED_BUILTINS = ("len", "abs", "all", "any", "sum", "sorted", "round", "min", "max", "float",
                    "int", "bool", "complex", "list", "tuple", "set", "frozenset", "dict", "divmod",
                    "pow", "hash", "iter", "next", "reversed", "enumerate", "zip", "map", "filter",
                    "getattr", "hasattr")
#: Of those, the ones that only use their arguments' own protocol (not their elements'): a list
#: of learner objects may be passed to ``len``, not to ``sorted`` or ``sum``.
SHALLOW_BUILTINS = frozenset({"len", "abs", "round", "float", "int", "bool", "complex", "list",
                              "tuple", "set", "frozenset", "dict", "divmod", "pow", "hash", "iter",
                              "next", "reversed", "enumerate", "zip", "map", "filter", "getattr",
                              "hasattr"})
PLAIN_BUILTINS = ("isinstance", "issubclass", "type", "str", "repr", "print", "range", "slice",
                  "object", "callable", "id", "format", "ascii", "bytes", "chr", "ord",
                  "AssertionError", "Exception", "ValueError", "TypeError", "KeyError",
                  "IndexError", "ZeroDivisionError", "NotImplemented", "Ellipsis")
#: Names whose meaning depends on the calling frame: never rewritten.
FRAME_NAMES = frozenset({"super", "locals", "globals", "vars", "dir", "eval", "exec", "breakpoint",
                         "__import__", "get_ipython", "display"})
#: Modules whose attributes are snapshotted when they are already loaded at start-up.
WATCHED_MODULES = ("math", "cmath", "operator", "statistics", "builtins", "numpy", "numpy.testing",
                   "pandas", "pandas.testing", "pandas._testing")
COMPARE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "Eq": lambda a, b: a == b, "NotEq": lambda a, b: a != b, "Lt": lambda a, b: a < b,
    "LtE": lambda a, b: a <= b, "Gt": lambda a, b: a > b, "GtE": lambda a, b: a >= b,
    "In": lambda a, b: a in b, "NotIn": lambda a, b: a not in b,
    "Is": lambda a, b: a is b, "IsNot": lambda a, b: a is not b,
}
SYMBOL = {"Eq": "==", "NotEq": "!=", "Lt": "<", "LtE": "<=", "Gt": ">", "GtE": ">=", "In": "in",
          "NotIn": "not in", "Is": "is", "IsNot": "is not"}
SCAN_BUDGET = 200_000
_REPR = reprlib.Repr()
_REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxtuple = 80, 120, 8, 8
_REPR.maxdict, _REPR.maxset, _REPR.maxlevel = 6, 8, 3
_HEAPTYPE = 1 << 9


class IntegrityError(AssertionError):
    """A test met an object whose answers come from the learner's own class."""


_type: Any = type
_mro = type.__dict__["__mro__"].__get__
_tdict = type.__dict__["__dict__"].__get__
_tflags = type.__dict__["__flags__"].__get__
_tname = type.__dict__["__qualname__"].__get__
_fcode = types.FunctionType.__dict__["__code__"].__get__  # type: ignore[attr-defined]
_isinstance = isinstance
_issubclass = issubclass
_id = id
_C_KINDS = (types.WrapperDescriptorType, types.MethodDescriptorType, types.GetSetDescriptorType,
            types.MemberDescriptorType, types.ClassMethodDescriptorType)
_LEAVES = frozenset({int, float, complex, str, bytes, bool, type(None), bytearray})
_CONTAINERS = (list, tuple, set, frozenset)
_DATA = frozenset({int, float, str, bool, bytes})  # e.g. pandas' ``__pandas_priority__ = 4000``
#: Compiled library callables (Cython functions, numpy's dispatchers and ufuncs).
_NATIVE = frozenset({"cython_function_or_method", "_ArrayFunctionDispatcher", "ufunc"})


class Runtime:
    """What the rewritten test cells call; one per kernel, created by :func:`install`."""

    def __init__(self, *, shell: Any, aliases: dict[str, str], workdir: str) -> None:
        self.shell = shell
        self.aliases = aliases
        self.builtins = dict(builtins.__dict__)
        self.modules = dict(sys.modules)
        self.attrs = {name: dict(vars(self.modules[name])) for name in WATCHED_MODULES
                      if name in self.modules}
        self.module_names = {_id(m): name for name, m in self.modules.items() if m is not None}
        self.prefixes = _trusted_prefixes(workdir)
        self.workdir = os.path.realpath(workdir)
        self.files: dict[str, bool] = {}
        self.entries: dict[tuple[int, str], tuple[Any, bool]] = {}
        self.types: dict[int, tuple[Any, tuple[str, str] | None]] = {}
        self.reported: set[str] = set()
        self.last: tuple[str, Any, Any] | None = None  # the operands of the last noted comparison
        self.checked = {_id(self.builtins[n]) for n in CHECKED_BUILTINS if n in self.builtins}
        self.shallow = {_id(self.builtins[n]) for n in SHALLOW_BUILTINS if n in self.builtins}
        self.test_files: set[str] = set()  # code names of the test cells (their own classes)
        for name in ("math", "cmath", "statistics", "operator"):
            self.checked |= {_id(v) for v in self.attrs.get(name, {}).values() if callable(v)}

    # -- provenance ---------------------------------------------------------------------------
    def trusted_file(self, path: str) -> bool:
        """A real file of the interpreter or an installed package (never the scratch folder),
        or a test cell (a test's own helper classes are the assessment's code)."""
        if path in self.test_files:
            return True
        known = self.files.get(path)
        if known is None and path.startswith("<frozen ") and path.endswith(">"):
            known = self.files[path] = _imp.is_frozen(path[8:-1])  # the stdlib's frozen modules
        if known is None:
            real = os.path.realpath(path) if path and path[0] == "/" else ""
            known = bool(real) and os.path.isfile(real) and not real.startswith(self.workdir + "/") \
                and any(real.startswith(p) for p in self.prefixes)
            self.files[path] = known
        return known

    def learner_entry(self, cls: Any, name: str) -> bool:
        """Whether ``cls.__dict__[name]`` is code written by the learner (not a library's)."""
        key = (_id(cls), name)
        cached = self.entries.get(key)
        if cached is not None and cached[0] is cls:
            return cached[1]
        verdict = False
        if _tflags(cls) & _HEAPTYPE:
            verdict = not self._trusted_object(_tdict(cls)[name])
        self.entries[key] = (cls, verdict)
        return verdict

    def _trusted_object(self, entry: Any) -> bool:
        kind = _type(entry)
        if entry is None or kind in _C_KINDS or kind in _DATA or _tname(kind) in _NATIVE:
            return True
        if kind is staticmethod or kind is classmethod:
            return self._trusted_object(entry.__func__)
        if kind is property:
            return all(f is None or self._trusted_object(f) for f in (entry.fget, entry.fset))
        if kind is types.FunctionType:
            return self.trusted_file(_fcode(entry).co_filename)
        return False

    def type_taint(self, cls: Any, names: Iterable[str] = WATCHED) -> tuple[str, str] | None:
        """(class name, special method) when ``cls`` gets one of ``names`` from learner code."""
        wanted = names if names is WATCHED else frozenset(names)
        if wanted is WATCHED:
            cached = self.types.get(_id(cls))
            if cached is not None and cached[0] is cls:
                return cached[1]
        found = None
        for klass in _mro(cls):
            if not _tflags(klass) & _HEAPTYPE:
                continue
            own = [n for n in _tdict(klass) if n in wanted and self.learner_entry(klass, n)]
            if own:
                found = (_tname(klass), ", ".join(own[:4]))
                break
        if wanted is WATCHED:
            self.types[_id(cls)] = (cls, found)
        return found

    def taint(self, value: Any) -> tuple[str, str] | None:
        """The first learner-defined special method reachable in ``value`` (containers scanned)."""
        budget = [SCAN_BUDGET]
        return self._taint(value, budget, set())

    def _taint(self, value: Any, budget: list[int], seen: set[int]) -> tuple[str, str] | None:
        kind = _type(value)
        if kind in _LEAVES:
            return None
        found = self.type_taint(kind)
        if found or budget[0] <= 0 or _id(value) in seen:
            return found
        seen.add(_id(value))
        items: Iterable[Any] = ()
        if _issubclass(kind, _CONTAINERS):
            items = value
        elif _issubclass(kind, dict):
            items = (x for pair in dict.items(value) for x in pair)
        else:
            items = self._library_items(kind, value, budget[0])
        return self._taint_items(items, budget, seen)

    def _taint_items(self, items: Iterable[Any], budget: list[int], seen: set[int]) -> tuple[str, str] | None:
        """The first taint among a container's elements, within the budget.

        Each kind of element is checked once (a column of a million strings costs one pass of
        ``type`` over it, not a million checks), and only elements that can hold others are
        scanned in turn.
        """
        chunk = list(itertools.islice(items, max(0, budget[0])))
        budget[0] -= len(chunk)
        kinds = [k for k in dict.fromkeys(map(_type, chunk)) if k not in _LEAVES]
        for kind in kinds:
            found = self.type_taint(kind)
            if found:
                return found
        holders = {_id(k) for k in kinds if self._holds_items(k)}
        for item in chunk:
            if budget[0] <= 0:
                break
            if _id(_type(item)) in holders:
                found = self._taint(item, budget, seen)
                if found:
                    return found
        return None

    @staticmethod
    def _holds_items(kind: Any) -> bool:
        """Whether values of ``kind`` are scanned for elements (see :meth:`_library_items`)."""
        if _issubclass(kind, _CONTAINERS) or _issubclass(kind, dict):
            return True
        module = str(_tdict(kind).get("__module__", "")) if _tflags(kind) & _HEAPTYPE else ""
        return module.startswith(("numpy", "pandas")) or _tname(kind) == "ndarray"

    def _library_items(self, kind: Any, value: Any, limit: int) -> Iterable[Any]:
        """Elements (the first ``limit``) of numpy / pandas containers that can hold any object."""
        module = str(_tdict(kind).get("__module__", "")) if _tflags(kind) & _HEAPTYPE else ""
        name = _tname(kind)
        try:
            if name == "ndarray" or (module.startswith("numpy") and hasattr(value, "dtype")):
                return value.ravel()[:limit].tolist() if str(value.dtype) == "object" else ()
            if module.startswith("pandas"):
                if name == "DataFrame":
                    return (x for col in range(value.shape[1]) if str(value.dtypes.iloc[col]) == "object"
                            for x in value.iloc[:limit, col].tolist())
                if hasattr(value, "dtype") and str(value.dtype) == "object":
                    head = value.iloc[:limit] if hasattr(value, "iloc") else value[:limit]
                    return list(head.tolist())
        except Exception:  # an unusual library object: nothing more to scan
            return ()
        return ()

    # -- failing and reporting ---------------------------------------------------------------
    def fail(self, found: tuple[str, str], what: str) -> IntegrityError:
        cls, name = found
        return IntegrityError(
            f"{what} met an object of class {cls!r}, defined by code in your notebook, that "
            f"answers with its own {name}: tests only accept real values (a list, a number, a "
            "DataFrame...), not objects that decide for themselves how they compare. Return the "
            "computed value."
        )

    def event(self, kind: str, message: str) -> None:
        """Publish one record of a contained trick (once per message) for the instructor."""
        if message in self.reported:
            return
        self.reported.add(message)
        with contextlib.suppress(Exception):  # no display publisher: nothing to report to
            self.shell.display_pub.publish(data={EVENT_MIME: {"kind": kind, "message": message}},
                                           metadata={})

    # -- what rewritten test cells call -------------------------------------------------------
    def cmp(self, op: str, left: Any, right: Any) -> Any:
        """``left op right``, refused when exactly one side answers with learner code."""
        if op not in ("Is", "IsNot"):
            a, b = self.taint(left), self.taint(right)
            if (a is None) != (b is None):
                raise self.fail(a or b, f"the comparison '{SYMBOL[op]}'")  # type: ignore[arg-type]
        return COMPARE_OPS[op](left, right)

    def cmp_noted(self, op: str, left: Any, right: Any) -> Any:
        """:meth:`cmp` for a test's ``assert a == b``: the operands are kept for :meth:`noted`."""
        self.last = None
        result = self.cmp(op, left, right)
        self.last = (op, left, right)
        return result

    def noted(self, expected: str) -> str:
        """The message of a failed ``assert a == b``: both values, the test's expected one named.

        ``expected`` is the side that holds the expected value ("left" or "right"). A learner
        object is named by its class, never asked for its repr.
        """
        last, self.last = self.last, None
        if last is None:
            return ""
        op, left, right = last
        got, want = (right, left) if expected == "left" else (left, right)
        if op == "Eq":
            return f"expected {self.show(want)}, got {self.show(got)}"
        if op == "NotEq":
            return f"expected a value other than {self.show(want)}"
        return f"{self.show(left)} {SYMBOL[op]} {self.show(right)} is not true"

    def show(self, value: Any) -> str:
        """A short, one-line repr of a value from a built-in or library class."""
        if self.taint(value) is not None:
            return f"an object of class {_tname(_type(value))!r}"
        try:
            text = _REPR.repr(value)
        except Exception:
            return f"a {_tname(_type(value))} (it could not be shown)"
        text = " ".join(text.split())
        return text if len(text) <= 160 else text[:157] + "..."

    def chain(self, left: Any, *rest: Any) -> Any:
        """A chained comparison ``a < b < c``: operands are thunks, evaluated once, in order."""
        result: Any = True
        for i in range(0, len(rest), 2):
            right = rest[i + 1]()
            result = self.cmp(rest[i], left, right)
            if not self.truth(result):
                return result
            left = right
        return result

    def truth(self, value: Any) -> Any:
        """``value`` itself, once its truthiness is known not to come from learner code."""
        if _type(value) not in _LEAVES:
            found = self.type_taint(_type(value), TRUTH)
            if found:
                raise self.fail(found, "a truth test")
        return value

    def item(self, value: Any, key: Any) -> Any:
        """``value[key]``, refused when ``value``'s items come from learner code."""
        found = self.type_taint(_type(value), ("__getitem__", "__class_getitem__"))
        if found:
            raise self.fail(found, "indexing")
        return value[key]

    def call(self, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        """``func(*args, **kwargs)``; a trusted function's arguments must be real values."""
        if self.trusted_callable(func):
            shallow = _id(func) in self.shallow
            for arg in (*args, *kwargs.values()):
                found = self.type_taint(_type(arg)) if shallow else self.taint(arg)
                if found:
                    raise self.fail(found, f"{getattr(func, '__name__', 'a function')}()")
        return func(*args, **kwargs)

    def trusted_callable(self, func: Any) -> bool:
        """Library code whose arguments the test trusts to be real values."""
        if _id(func) in self.checked:
            return True
        kind = _type(func)
        if kind is types.FunctionType:
            return self.trusted_file(_fcode(func).co_filename)
        if kind is types.MethodType:
            return self.trusted_callable(func.__func__) and not self.taint(func.__self__)
        if kind is types.BuiltinFunctionType:
            owner = func.__self__
            return owner is None or _isinstance(owner, types.ModuleType) or not self.taint(owner)
        return _tname(kind) in _NATIVE

    def b(self, name: str) -> Any:
        """The builtin ``name`` as it was before learner code ran."""
        original = self.builtins[name]
        namespace = self.shell.user_ns
        if name in namespace:
            value = namespace[name]
            if value is original:
                return original
            if not callable(value):  # e.g. ``sum = 0``: fails in the test, as in nbgrader
                return value
            self.event("builtin", f"the notebook redefines the builtin {name!r}; tests used the original")
        elif builtins.__dict__.get(name) is not original:
            self.event("builtin", f"the notebook replaces builtins.{name}; tests used the original")
        if name == "isinstance":
            return self.isinstance
        return original

    def isinstance(self, obj: Any, classinfo: Any) -> bool:
        """``isinstance`` that ignores a ``__class__`` forged by learner code."""
        if self.type_taint(_type(obj), ("__class__", "__getattribute__", "__getattr__")):
            self.event("class", f"an object of class {_tname(_type(obj))!r} forges __class__; "
                       "tests checked its real type")
            return _issubclass(_type(obj), classinfo)
        return _isinstance(obj, classinfo)

    def g(self, name: str) -> Any:
        """A name the released notebook imports (``np``, ``assert_frame_equal``), as imported."""
        module, _, attr = self.aliases[name].partition(":")
        real = self.from_(module, attr) if attr else self.imp(module)
        value = self.shell.user_ns.get(name, real)
        if value is not real and _type(value) not in _LEAVES and not _isinstance(value, _CONTAINERS):
            self.event("module", f"the notebook rebinds {name!r}; tests used {self.aliases[name]}")
            return real
        return value

    def imp(self, name: str, top: bool = False) -> Any:
        """``import name``: the module loaded before learner code ran, else a checked import."""
        known = self.modules.get(name)
        current = sys.modules.get(name)
        if known is not None:
            if current is not known:
                self.event("module", f"the notebook replaces sys.modules[{name!r}]; tests used the "
                           "real module")
            module = known
        else:
            if current is None:
                import importlib

                current = importlib.import_module(name)
            if not _isinstance(current, types.ModuleType) or (not self.trusted_file(
                    str(getattr(current, "__file__", None) or "/")) and name not in sys.builtin_module_names):
                raise IntegrityError(f"the module {name!r} was replaced by code in your notebook; "
                                     "tests need the real one (do not patch sys.modules)")
            self.modules[name] = module = current
            self.module_names[_id(current)] = name
        if top and "." in name:
            return self.imp(name.split(".")[0])
        return module

    def attr(self, obj: Any, name: str) -> Any:
        """``obj.name``; a module's attribute as it was before learner code ran."""
        module_name = self.module_names.get(_id(obj)) if _type(obj) is types.ModuleType else None
        if module_name is None:
            if _type(obj) not in _LEAVES and self.type_taint(_type(obj), ("__class__",)):
                self.event("class", f"an object of class {_tname(_type(obj))!r} forges __class__")
            return getattr(obj, name)
        snapshot = self.attrs.get(module_name)
        if snapshot is not None and name in snapshot:
            if obj.__dict__.get(name, snapshot[name]) is not snapshot[name]:
                self.event("module", f"the notebook replaces {module_name}.{name}; tests used the original")
            return snapshot[name]
        value = getattr(obj, name)
        if _type(value) is types.FunctionType and not self.trusted_file(_fcode(value).co_filename) \
                and self.trusted_file(str(getattr(obj, "__file__", None) or "/")):
            raise IntegrityError(f"{module_name}.{name} was replaced by code in your notebook; tests "
                                 "need the library's own function (do not patch libraries)")
        return value

    def from_(self, module: str, name: str) -> Any:
        """``from module import name``, through :meth:`imp` and :meth:`attr`."""
        owner = self.imp(module)
        try:
            return self.attr(owner, name)
        except AttributeError:
            return self.imp(f"{module}.{name}")

    def mkslice(self, lower: Any, upper: Any, step: Any) -> slice:
        return slice(lower, upper, step)


def _trusted_prefixes(workdir: str) -> tuple[str, ...]:
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    found = sysconfig.get_paths()
    paths |= {found[key] for key in ("stdlib", "platstdlib", "purelib", "platlib") if key in found}
    paths |= {p for p in sys.path if p and "site-packages" in p}
    real = {os.path.realpath(p) for p in paths if p}
    return tuple(sorted(p.rstrip("/") + "/" for p in real if p != "/"))


class Rewriter(ast.NodeTransformer):
    """Rewrites one test cell's AST so every check goes through the :class:`Runtime` ``rt``."""

    def __init__(self, rt: str, tree: ast.AST, aliases: Iterable[str]) -> None:
        self.rt = rt
        self.bound = _bound_names(tree)
        self.aliases = frozenset(aliases) - self.bound
        self.names = frozenset(CHECKED_BUILTINS + PLAIN_BUILTINS) - self.bound - FRAME_NAMES

    def _call(self, method: str, *args: ast.expr) -> ast.Call:
        func = ast.Attribute(value=ast.Name(id=self.rt, ctx=ast.Load()), attr=method, ctx=ast.Load())
        return ast.Call(func=func, args=list(args), keywords=[])

    def visit_Assert(self, node: ast.Assert) -> ast.AST:
        compare = node.test if isinstance(node.test, ast.Compare) and node.msg is None else None
        self.generic_visit(node)
        test = node.test
        if (compare is not None and len(compare.ops) == 1 and isinstance(test, ast.Call)
                and isinstance(test.func, ast.Attribute) and test.func.attr == "cmp"):
            test.func.attr = "cmp_noted"  # a failure shows both values (Runtime.noted)
            node.msg = self._call("noted", ast.Constant(_expected_side(compare)))
        node.test = self._call("truth", node.test)
        return node

    def _test(self, node: ast.If | ast.While | ast.IfExp) -> ast.AST:
        self.generic_visit(node)
        node.test = self._call("truth", node.test)
        return node

    visit_If = visit_While = visit_IfExp = _test

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not):
            node.operand = self._call("truth", node.operand)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        node.values = [self._call("truth", v) for v in node.values]
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        names = [_type(op).__name__ for op in node.ops]
        if len(names) == 1:
            if names[0] in ("Is", "IsNot"):
                return node
            return ast.copy_location(
                self._call("cmp", ast.Constant(names[0]), node.left, node.comparators[0]), node)
        rest: list[ast.expr] = []
        for op, right in zip(names, node.comparators, strict=True):
            rest += [ast.Constant(op), ast.Lambda(args=_no_args(), body=right)]
        return ast.copy_location(self._call("chain", node.left, *rest), node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            return node
        return ast.copy_location(self._call("item", node.value, self._index(node.slice)), node)

    def _index(self, index: ast.expr) -> ast.expr:
        if isinstance(index, ast.Slice):
            parts = [p if p is not None else ast.Constant(None)
                     for p in (index.lower, index.upper, index.step)]
            return self._call("mkslice", *parts)
        if isinstance(index, ast.Tuple):
            return ast.Tuple(elts=[self._index(e) for e in index.elts], ctx=ast.Load())
        return index

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id in FRAME_NAMES:
            self.generic_visit(node)
            return node
        self.generic_visit(node)
        call = self._call("call", node.func, *node.args)
        call.keywords = node.keywords
        return ast.copy_location(call, node)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if not isinstance(node.ctx, ast.Load):
            return node
        if node.id in self.names:
            return ast.copy_location(self._call("b", ast.Constant(node.id)), node)
        if node.id in self.aliases:
            return ast.copy_location(self._call("g", ast.Constant(node.id)), node)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load):
            return node
        return ast.copy_location(self._call("attr", node.value, ast.Constant(node.attr)), node)

    def visit_Import(self, node: ast.Import) -> list[ast.stmt]:
        statements: list[ast.stmt] = []
        for alias in node.names:
            target = alias.asname or alias.name.split(".")[0]
            value = self._call("imp", ast.Constant(alias.name), ast.Constant(alias.asname is None))
            statements.append(ast.copy_location(
                ast.Assign(targets=[ast.Name(id=target, ctx=ast.Store())], value=value), node))
        return statements

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST | list[ast.stmt]:
        if node.level or not node.module or any(a.name == "*" for a in node.names):
            return node
        return [ast.copy_location(ast.Assign(
            targets=[ast.Name(id=a.asname or a.name, ctx=ast.Store())],
            value=self._call("from_", ast.Constant(node.module), ast.Constant(a.name))), node)
            for a in node.names]


def _literal(node: ast.expr) -> bool:
    """A value written out in the test (``42``, ``-1.5``, ``[1, 4, 9]``, ``{"a": 1}``)."""
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _expected_side(compare: ast.Compare) -> str:
    """Which side of ``a == b`` a test expects: the literal one, else the right (``got == want``)."""
    return "left" if _literal(compare.left) and not _literal(compare.comparators[0]) else "right"


def _no_args() -> ast.arguments:
    return ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                         kwarg=None, defaults=[])


def _bound_names(tree: ast.AST) -> frozenset[str]:
    """Every name the cell binds anywhere (such names are the test's own, never rewritten)."""
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            bound.add(node.name)
    return frozenset(bound)


def rewrite(tree: ast.Module, *, rt: str, aliases: Iterable[str] = ()) -> ast.Module:
    """``tree`` with every check routed through the runtime named ``rt``."""
    new = Rewriter(rt, tree, aliases).visit(tree)
    ast.fix_missing_locations(new)
    return new  # type: ignore[no-any-return]


def cell_digest(code: str) -> str:
    """How the grader and the kernel name a test cell: the SHA-256 of its code."""
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


class TestCellTransformer:
    """The IPython AST transformer: rewrites a cell only when its code is one of the test cells."""

    def __init__(self, shell: Any, rt_name: str, digests: frozenset[str], aliases: dict[str, str]) -> None:
        self.shell = shell
        self.rt_name = rt_name
        self.digests = digests
        self.aliases = aliases

    def visit(self, node: ast.Module) -> ast.Module:
        try:
            kernel = getattr(self.shell, "kernel", None)
            parent = kernel.get_parent("shell") if kernel is not None else {}
            code = (parent or {}).get("content", {}).get("code")
            if not isinstance(code, str) or cell_digest(code) not in self.digests:
                return node
            with contextlib.suppress(Exception):  # the name the cell's code objects will carry
                runtime = getattr(builtins, self.rt_name)
                runtime.test_files.add(self.shell.compile.get_code_name(code, code, 0))
            return rewrite(node, rt=self.rt_name, aliases=self.aliases)
        except Exception:  # never unregister ourselves (IPython would print to stderr)
            return node


def install(shell: Any, config: dict[str, Any]) -> str:
    """Capture the originals and register the transformer; return the runtime's builtin name."""
    rt_name = "_nbcred_rt_" + os.urandom(8).hex()
    aliases = {str(k): str(v) for k, v in dict(config.get("aliases", {})).items()}
    runtime = Runtime(shell=shell, aliases=aliases, workdir=os.getcwd())
    setattr(builtins, rt_name, runtime)
    shell.ast_transformers.insert(0, TestCellTransformer(
        shell, rt_name, frozenset(config.get("digests", ())), aliases))
    return rt_name
