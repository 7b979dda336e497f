"""Two messages of Lightning's that are wrong for this project's runs, silenced one by one (never by class).

- The litlogger tip (`💡 Tip: For seamless cloud logging ...`), logged at INFO by every Trainer that has no
  LitLogger: an advertisement, not a fact about the run; the project's loggers are chosen in configs/logger/.
- `The dirpath has changed from ... to ...`, warned by ModelCheckpoint whenever a prediction restores a training
  checkpoint: a prediction writes into its own run folder by design and saves no checkpoint, so the training
  run's best-k bookkeeping it says is not reloaded is never needed. A training resumed into another folder still
  gets the warning (there it is true): the filter is only around `trainer.predict`.
"""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator

_TIP = "Tip: For seamless cloud logging"
# lightning_utilities' rank_zero_info logs through whichever of these modules was imported last.
_RANK_ZERO_LOGGERS = (
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
    "lightning_utilities.core.rank_zero",
)


class _DropLitLoggerTip(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return _TIP not in record.getMessage()


_FILTER = _DropLitLoggerTip()


def drop_litlogger_tip() -> None:
    """Drops Lightning's litlogger tip from its rank-zero loggers (once per process; other messages pass)."""
    for name in _RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


@contextlib.contextmanager
def restoring_for_prediction() -> Iterator[None]:
    """Around `trainer.predict(ckpt_path=...)`: no "dirpath has changed" warning (see the module's docstring)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="The dirpath has changed from", module=r"lightning\.pytorch\.callbacks\.model_checkpoint"
        )
        yield
