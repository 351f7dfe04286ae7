"""Checkpoints during a run, and how a run ends early: after every pass, when Ctrl-C or SIGTERM stops it midway,
when a loss turns NaN, when an output cannot be written. Each end is one line that names the last good checkpoint
and the command that continues from it. The checkpoint format: checkpoint.py.

With several processes (parallel.py) rank 0 writes; the other ranks' Saver writes nothing but checks the parameters
as rank 0 does, so that every rank stops alike when they are not finite.
"""
from . import checkpoint
from .errors import Diverged, Interrupted
from .run_folder import OutputError, left_behind, resume_command


class Saver:
    """Checkpoints of a run of `config` into `folder` (run_folder.RunFolder), of the parameters of `programs` in
    `scope`. `writes`: False on the ranks that only check. `streams`: name -> the real batches, noise batches and
    schedule whose state every checkpoint keeps; `loss_log`: the run's loss_log.LossLog, synced with every
    checkpoint; `resume`: the checkpoint the run continued from."""

    def __init__(self, config, folder, writes, programs, scope, streams, loss_log=None, resume=None):
        self.config, self.folder, self.writes = config, folder, writes
        self.programs, self.scope, self.streams, self.loss_log = programs, scope, streams, loss_log
        self.last_checkpoint = resume

    def save(self, pass_id, batches_done, iteration):
        """Write the checkpoint of `batches_done` batches into pass `pass_id` (all of them: the pass's own
        checkpoint), `iteration` iterations done; keep the newest `keep_checkpoints`. Parameters that are not finite
        stop the run instead (finite losses do not prove finite weights: NaN data, for one). Returns the folder."""
        last = batches_done == self.config["iters_per_pass"]
        path = checkpoint.pass_dir(self.folder.params_dir, pass_id, None if last else batches_done)
        try:
            if self.writes:
                self._write(path, pass_id, batches_done, iteration)
            else:
                checkpoint.check_finite(path, self.scope, self.programs)
        except checkpoint.NotFiniteError as e:
            raise Diverged(f"{e}: training diverged; the last good checkpoint is {self.last_checkpoint or 'none yet'}; "
                           "check the data, or try a lower --lr") from None
        except OSError as e:
            raise self.write_failed(e) from None
        self.last_checkpoint = path
        return path

    def _write(self, path, pass_id, batches_done, iteration):
        if self.loss_log and not self.loss_log.sync():  # the log on disk reaches as far as the checkpoint does
            raise OutputError(f"{self.loss_log.path} was moved, deleted or replaced while the run wrote it (the rows "
                              f"since then went with it); {self._how_to_go_on()}")
        meta = checkpoint.make_meta(self.config, pass_id, batches_done, iteration, self.streams, self.folder.run_name)
        checkpoint.save(path, self.scope, self.programs, meta)
        checkpoint.prune(self.folder.params_dir, self.config["keep_checkpoints"])

    def write_failed(self, error):
        """An output that cannot be written (`error`: a full disk, a folder replaced by a file): the exception that
        ends the run in one line. A checkpoint cut off midway leaves the previous one as it was (checkpoint.save)."""
        return OutputError(f"cannot write {error.filename or self.folder.output_dir} ({error.strerror}); make room "
                           f"or put back what was moved; {self._how_to_go_on()}")

    def interrupted(self, signum, pass_id, batches_done, iteration):
        """Ctrl-C or SIGTERM after `batches_done` batches of pass `pass_id`: the checkpoint (unless the pass's own was
        just written) and the exception that ends the run, saying how to continue."""
        if batches_done < self.config["iters_per_pass"]:
            self.save(pass_id, batches_done, iteration)
            where = f"in pass {pass_id} after {batches_done} batches"
        else:
            where = f"after pass {pass_id}"
        return Interrupted(signum, f"stopped {where}; checkpoint {self.last_checkpoint}; continue with: "
                                   f"{resume_command(self.config, self.folder.output_dir, self.last_checkpoint)}")

    def diverged(self, error, pass_id, batch_id, fetch_every=1):
        """A loss came back NaN or inf (`error`) at batch `batch_id` of pass `pass_id`: the exception that ends the
        run, naming the last good checkpoint."""
        since = " (or since the last fetch of losses)" if fetch_every > 1 else ""
        return Diverged(f"{error} at pass {pass_id}, batch {batch_id}{since}: training diverged; the last good "
                        f"checkpoint is {self.last_checkpoint or 'none yet'}; try a lower --lr")

    def _how_to_go_on(self):
        return how_to_go_on(self.config, self.folder, self.last_checkpoint)


def how_to_go_on(config, folder, last_checkpoint=None):
    """How a run of `config` in `folder` (run_folder.RunFolder) that stopped early goes on: from `last_checkpoint`,
    or the newest in the folder, with the command that continues it; or afresh when there is none."""
    last_checkpoint = last_checkpoint or checkpoint.latest(folder.params_dir)
    if last_checkpoint is None and left_behind(folder.samples_dir):
        return f"no checkpoint was written yet: move {folder.samples_dir} away and start the run again"
    if last_checkpoint is None:
        return "no checkpoint was written yet: start the run again"
    command = resume_command(config, folder.output_dir, last_checkpoint)
    return f"nothing after checkpoint {last_checkpoint} was kept; continue from it with: {command}"
