"""How ``mock_iot_provisioning`` decorates: every call of a decorated test runs inside a fresh mock.

- Functions and ``async def`` functions: the call runs inside the mock.
- Generator and async-generator functions: the generator's body runs inside the mock from its first step
  until it is exhausted or closed (``send``, ``throw`` and ``close`` reach the body unchanged).
- ``staticmethod`` and ``classmethod`` objects: their function is wrapped and the descriptor kept.
- Classes: every attribute whose name starts with ``test`` and that is a function, ``staticmethod`` or
  ``classmethod``, whether defined on the class or inherited, is wrapped on the decorated class (base
  classes are not changed). A ``test*`` attribute that is callable some other way (a ``functools.partial``,
  a callable object) cannot be wrapped faithfully and is refused with ``TypeError``; non-callable
  ``test*`` attributes (data) are left alone. ``unittest.TestCase`` subclasses instead run ``setUp``, the
  test and ``tearDown`` inside one fresh mock per test, which covers inherited and static tests too.
"""

from __future__ import annotations

import functools
import inspect
import unittest
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any, Protocol


class Mock(Protocol):
    """What a decorator needs of a mock: start and stop."""

    def start(self) -> Any: ...

    def stop(self) -> None: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc_info: object) -> None: ...


Factory = Callable[[], Mock]

# Set on wrappers made for a class: an inherited test wrapped for a decorated base class is re-wrapped
# from its original for a decorated subclass, so the subclass's options apply and mocks do not nest.
_CLASS_WRAP = "_mock_iotprov_class_original"


def decorate(target: Any, fresh: Factory) -> Any:
    """``target`` made to run each call inside ``fresh()``; see the module docstring for the shapes."""
    if inspect.isclass(target):
        if issubclass(target, unittest.TestCase):
            return _decorate_test_case(target, fresh)
        return _decorate_class(target, fresh)
    if isinstance(target, (staticmethod, classmethod)):
        return type(target)(decorate_function(target.__func__, fresh))
    if not callable(target):
        raise TypeError(f"mock_iot_provisioning decorates functions and classes, not {target!r}")
    return decorate_function(target, fresh)


def decorate_function(func: Callable[..., Any], fresh: Factory) -> Callable[..., Any]:
    """Wrap one function, coroutine function, generator function or async-generator function."""
    if inspect.isasyncgenfunction(func):
        wrapper = _async_generator(func, fresh)
    elif inspect.isgeneratorfunction(func):
        wrapper = _generator(func, fresh)
    elif inspect.iscoroutinefunction(func):
        wrapper = _coroutine(func, fresh)
    else:
        wrapper = _plain(func, fresh)
    return functools.wraps(func)(wrapper)


def _plain(func: Callable[..., Any], fresh: Factory) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        with fresh():
            return func(*args, **kwargs)

    return run


def _coroutine(func: Callable[..., Any], fresh: Factory) -> Callable[..., Any]:
    async def run_async(*args: Any, **kwargs: Any) -> Any:
        with fresh():
            return await func(*args, **kwargs)

    return run_async


def _generator(func: Callable[..., Any], fresh: Factory) -> Callable[..., Any]:
    def run_generator(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        with fresh():
            return (yield from func(*args, **kwargs))

    return run_generator


def _async_generator(func: Callable[..., Any], fresh: Factory) -> Callable[..., Any]:
    async def run_async_generator(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        inner = func(*args, **kwargs)
        with fresh():
            try:
                sent: Any = None
                thrown: BaseException | None = None
                while True:
                    try:
                        item = await (inner.athrow(thrown) if thrown is not None else inner.asend(sent))
                    except StopAsyncIteration:
                        return
                    sent, thrown = None, None
                    try:
                        sent = yield item
                    except GeneratorExit:
                        raise
                    except BaseException as exc:  # noqa: BLE001 - handed to the body, as athrow() does
                        thrown = exc
            finally:
                await inner.aclose()

    return run_async_generator


def _find(klass: type[Any], name: str) -> Any:
    for owner in klass.__mro__:
        if name in owner.__dict__:
            return owner.__dict__[name]
    raise AttributeError(name)


def _test_names(klass: type[Any]) -> list[str]:
    names: dict[str, None] = {}
    for owner in reversed(klass.__mro__[:-1]):  # without ``object``
        for name in owner.__dict__:
            if name.startswith("test"):
                names[name] = None
    return list(names)


def _decorate_class(klass: type[Any], fresh: Factory) -> type[Any]:
    for name in _test_names(klass):
        member = _find(klass, name)
        if isinstance(member, (staticmethod, classmethod)):
            func = getattr(member.__func__, _CLASS_WRAP, member.__func__)
            wrapped = decorate_function(func, fresh)
            setattr(wrapped, _CLASS_WRAP, func)
            setattr(klass, name, type(member)(wrapped))
        elif inspect.isfunction(member):
            func = getattr(member, _CLASS_WRAP, member)
            wrapped = decorate_function(func, fresh)
            setattr(wrapped, _CLASS_WRAP, func)
            setattr(klass, name, wrapped)
        elif callable(member):
            raise TypeError(
                f"mock_iot_provisioning cannot decorate {klass.__qualname__}.{name}: it is a "
                f"{type(member).__name__}, not a function, staticmethod or classmethod; decorate the "
                "function it calls instead"
            )
    return klass


def _decorate_test_case(klass: type[unittest.TestCase], fresh: Factory) -> type[unittest.TestCase]:
    """setUp, the test and tearDown all run inside one fresh mock per test."""
    original_set_up = klass.setUp

    @functools.wraps(original_set_up)
    def set_up(test: unittest.TestCase) -> None:
        mock = fresh().start()
        test.addCleanup(mock.stop)
        test.iot_provisioning = mock  # type: ignore[attr-defined]
        original_set_up(test)

    klass.setUp = set_up  # type: ignore[method-assign, assignment]
    return klass
