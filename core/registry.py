"""Models registered by name and built by one factory (the timm pattern).

Each task package owns one `Registry`; builders are plain functions returning a `keras.Model`:

    MODELS = Registry("anomaly model")

    @MODELS.register("dense")
    def build_dense(input_dim, *, l2=0.0): ...

    model = MODELS.build("dense", input_dim=64)
"""

from typing import Callable

from core.errors import UserError


class Registry:
    """A name -> builder mapping with a helpful error for unknown names."""

    def __init__(self, kind: str):
        self.kind = kind
        self._builders: dict[str, Callable] = {}

    def register(self, name: str):
        """Decorator registering `builder` under `name`."""

        def decorator(builder):
            if name in self._builders:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._builders[name] = builder
            return builder

        return decorator

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._builders)

    def get(self, name: str) -> Callable:
        """The builder registered as `name`; a `UserError` listing the known names otherwise."""
        try:
            return self._builders[name]
        except KeyError:
            raise UserError(f"unknown {self.kind} {name!r}; choose one of {', '.join(self.names())}") from None

    def build(self, name: str, **kwargs):
        """Calls the builder registered as `name` with `kwargs`."""
        return self.get(name)(**kwargs)
