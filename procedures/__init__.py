"""procedures of dwlab (see docs/design.md).

PyMeasure's experiment package warns on import about extras dwlab never uses (ZMQ and
cloudpickle for remote listeners, IPython for notebooks). Its loggers are kept to errors here,
in the package every procedure module is imported through, so that whichever module imports
PyMeasure first, no command prints those warnings.
"""

import logging

for _logger in ("listeners", "workers", "experiment"):
    logging.getLogger(f"pymeasure.experiment.{_logger}").setLevel(logging.ERROR)
