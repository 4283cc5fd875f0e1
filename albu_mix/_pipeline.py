"""The pipeline hook: one object per pipeline that sees the start and the end of every call.

albumentations 2.0's ``Compose`` hands its processors dict to every transform it holds (nested
``OneOf``, ``SomeOf``, ``Sequential`` and ``Compose`` included), and the root ``Compose`` calls
``preprocess(data)`` and ``postprocess(data)`` of every entry once per call, whether or not a given
transform ran (the other choice of a ``OneOf``, ``p=0``). Every albu_mix transform puts one
:class:`PipelineHook` there under a fixed key, so one hook serves the whole pipeline and knows its
albu_mix members. It is what lets albu_mix do things at the boundaries of a call:

- a ``PartnerPool`` takes in the sample ``Remember`` kept only when the call ends; a sample whose
  call raised (a mixer refused it) never becomes anyone's partner; and a mixer that draws from a
  pool before any ``Remember(pool)`` in the same call is refused instead of drawing the sample itself;
- every sample of a pipeline that holds a mixer leaves it with ``mix_lambda`` (1.0 when nothing mixed
  it), label or no label, so batches of detection and segmentation samples collate;
- serialization sees the other albu_mix transforms of the pipeline (two mixers of one name).

AlbumentationsX gives a transform no way to reach its pipeline (``_compat.PIPELINE_HOOK`` is False).
There a pool takes in a sample at the thread's next ``Remember`` (or drops it when a mixer refused
it), and ``mix_lambda`` on every sample comes from ending the pipeline with ``LabelSmoothing``, which
needs no label. The hook also does not run when the transform is called on its own, outside a
``Compose``, or when the root ``Compose`` itself does not fire (then nothing ran at all).
"""

from __future__ import annotations

from typing import Any

__all__ = ["KEY", "PipelineHook", "install"]

#: the key of the hook in ``Compose.processors`` (one hook per pipeline, shared by its albu_mix transforms)
KEY = "albu_mix"


class _NoLabelFields:
    """What ``Compose`` reads from a processor's ``params``."""

    label_fields = None
    check_each_transform = False


class PipelineHook:
    """A processor-like entry of ``Compose.processors`` that albumentations calls at the start and the
    end of every call of the root pipeline.

    ``members`` are the albu_mix transforms of the pipeline. A member's ``_hook_pool`` (a
    ``PartnerPool`` or None) is told when each call starts and ends, once per pool however many members
    use it; a member whose ``_sets_mix_lambda`` is True (a mixer) makes the hook give every sample
    ``mix_lambda`` (1.0 when nothing set it).
    """

    #: read by ``Compose`` when it lists its keys; "image" is always one, so it never warns
    default_data_name = "image"
    data_fields: tuple[str, ...] = ()
    params = _NoLabelFields()

    def __init__(self) -> None:
        self.members: list[Any] = []
        self.pools: list[Any] = []
        self.sets_mix_lambda = False

    def add(self, transform: Any) -> None:
        if any(member is transform for member in self.members):
            return
        self.members.append(transform)
        pool = transform._hook_pool
        if pool is not None and not any(known is pool for known in self.pools):
            self.pools.append(pool)
        self.sets_mix_lambda = self.sets_mix_lambda or transform._sets_mix_lambda

    # -- what Compose calls -----------------------------------------------------------------------
    def ensure_transforms_valid(self, transforms: Any) -> None:
        pass

    def ensure_data_valid(self, data: dict[str, Any]) -> None:
        pass

    def add_targets(self, additional_targets: Any) -> None:
        pass  # called again for nested pipelines with additional_targets: must stay a no-op

    def preprocess(self, data: dict[str, Any]) -> None:
        for pool in self.pools:
            pool._call_started()

    def postprocess(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if self.sets_mix_lambda:
            data.setdefault("mix_lambda", 1.0)
        for pool in self.pools:
            pool._call_finished()
        return data

    def filter(self, data: Any, *args: Any, **kwargs: Any) -> Any:
        return data

    def __repr__(self) -> str:
        return f"albu_mix.PipelineHook({', '.join(type(m).__name__ for m in self.members)})"


def install(processors: dict[str, Any], transform: Any) -> PipelineHook:
    """The pipeline's hook in ``processors`` (made on first use), with ``transform`` among its members."""
    hook = processors.get(KEY)
    if not isinstance(hook, PipelineHook):
        hook = processors[KEY] = PipelineHook()
    hook.add(transform)
    return hook
