#!/usr/bin/python3
# Ansible module for hotpatch: live patches on the processes of a host, driven
# through `hotpatch ... --json` (the schema of docs/json.md). See README.md here.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: hotpatch
short_description: Apply, revert or check a live patch on running processes
description:
  - Runs the C(hotpatch) command on the managed host to apply a live patch to
    running processes, take it back, or check whether it would apply, without
    restarting them.
  - Idempotent. A process that already has the patch (same id, from the same file)
    is reported C(already-applied) and left alone; reverting a patch a process does
    not have changes nothing.
  - Check mode (C(--check)) runs C(hotpatch check), a dry run that stops each
    process once and writes nothing, and reports which processes would change.
  - Returns one result per process, from C(hotpatch --json).
options:
  state:
    description:
      - C(applied) applies the patch to every selected process that does not have it.
      - C(reverted) takes the patch (C(id), or the id of C(patch)) back where it is applied.
      - C(checked) only checks that C(applied) would succeed now (never changes anything);
        it fails, naming the processes and reasons, when it would not.
    type: str
    choices: [applied, reverted, checked]
    default: applied
  patch:
    description:
      - The patch file on the managed host (copy it there first). Required for
        C(applied) and C(checked); for C(reverted) it gives the patch id.
    type: path
  id:
    description: The patch id to revert (default with C(patch) given - the patch's own id).
    type: str
  exe:
    description: Every process running this program (compared by device and inode), e.g. a master and its workers.
    type: path
  pid:
    description: These processes.
    type: list
    elements: int
  build_id:
    description:
      - Every process that maps the object with this GNU build-id (C(hotpatch -p all)).
        The patch must name the same build-id; C(patch) is required (also for C(reverted)).
    type: str
  timeout:
    description: Milliseconds to retry while a function being replaced is in use (C(--timeout)).
    type: int
  keep_going:
    description: Try every process even after one failed (C(--keep-going)); the task fails if any failed.
    type: bool
    default: true
  hotpatch:
    description: The hotpatch command (default - C(hotpatch) on the PATH).
    type: path
notes:
  - Exactly one of C(exe), C(pid) and C(build_id) selects the processes.
  - A host where no process runs the program (C(exe)) or maps the build (C(build_id)) is
    ok and not changed, with a warning; a C(pid) that does not exist fails the task.
  - "Needs the right to trace the processes (usually C(become: true))."
requirements:
  - hotpatch on the managed host, with C(check) and the multi-process C(--json) output.
"""

EXAMPLES = r"""
- name: Patch every nginx process
  hotpatch:
    patch: /var/lib/hotpatch/fix-cve.so
    exe: /usr/sbin/nginx
  become: true

- name: Take it back
  hotpatch:
    id: fix-cve
    exe: /usr/sbin/nginx
    state: reverted
  become: true
"""

RETURN = r"""
patch_id:
  description: The id of the patch.
  returned: always
  type: str
processes:
  description: One result per process as hotpatch reports it (pid, ok, status, exit_code, error, ...).
  returned: always
  type: list
  elements: dict
summary:
  description: How many processes ended in each status (applied, already-applied, would-apply, reverted, ...).
  returned: always
  type: dict
msg:
  description: The error (the first failing process's), or why nothing was selected (also a warning).
  returned: on failure, or when no process matches exe or build_id
  type: str
command:
  description: The hotpatch command line that was run last.
  returned: always
  type: list
"""

import json

from ansible.module_utils.basic import AnsibleModule


class Hotpatch:
    def __init__(self, module):
        self.module = module
        self.binary = module.params["hotpatch"] or module.get_bin_path("hotpatch", required=True)
        self.command = []

    def run(self, args):
        """(exit status, the JSON object hotpatch printed)."""
        self.command = [self.binary] + args + ["--json"]
        rc, out, err = self.module.run_command(self.command)
        try:
            doc = json.loads(out)
        except ValueError:
            self.module.fail_json(msg="hotpatch printed no JSON (exit %d): %s" % (rc, (err or out).strip()),
                                  command=self.command, rc=rc)
        if not isinstance(doc, dict) or doc.get("schema") != 1:
            self.module.fail_json(msg="hotpatch printed JSON of an unknown schema (this module reads schema 1)",
                                  command=self.command, output=doc)
        return rc, doc

    def info(self, patch):
        rc, doc = self.run(["info", patch])
        if rc != 0:
            self.module.fail_json(msg=doc.get("error", "hotpatch info failed"), command=self.command, rc=rc)
        return doc


def summary(processes):
    counts = {}
    for p in processes:
        counts[p.get("status", "unknown")] = counts.get(p.get("status", "unknown"), 0) + 1
    return counts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["applied", "reverted", "checked"], default="applied"),
            patch=dict(type="path"),
            id=dict(type="str"),
            exe=dict(type="path"),
            pid=dict(type="list", elements="int"),
            build_id=dict(type="str"),
            timeout=dict(type="int"),
            keep_going=dict(type="bool", default=True),
            hotpatch=dict(type="path"),
        ),
        required_one_of=[("exe", "pid", "build_id")],
        mutually_exclusive=[("exe", "pid", "build_id")],
        required_if=[("state", "applied", ("patch",)), ("state", "checked", ("patch",)),
                     ("state", "reverted", ("patch", "id"), True)],
        supports_check_mode=True,
    )
    p = module.params
    hp = Hotpatch(module)

    patch_info = hp.info(p["patch"]) if p["patch"] else None
    patch_id = p["id"] or patch_info["id"]
    if p["build_id"]:
        wanted = p["build_id"].lower()
        if patch_info is not None and (patch_info.get("build_id") or "").lower() != wanted:
            module.fail_json(msg="the patch %s is for build-id %s, not %s" % (
                p["patch"], patch_info.get("build_id") or "(none)", wanted), patch_id=patch_id)
        selection = ["-p", "all"]
    elif p["exe"]:
        selection = ["--exe", p["exe"]]
    else:
        selection = ["-p", ",".join(str(pid) for pid in p["pid"])]
    common = (["--keep-going"] if p["keep_going"] else []) + (
        ["--timeout", str(p["timeout"])] if p["timeout"] is not None else [])

    def finish(rc, doc, changed):
        processes = doc.get("processes", [])
        result = dict(changed=changed, patch_id=patch_id, processes=processes, summary=summary(processes),
                      command=hp.command)
        if rc == 3 and not processes and not p["pid"]:
            # No process runs that program (or maps that build) on this host: every
            # process of it is as the state asks, vacuously. Said, not failed.
            result["msg"] = doc.get("error", "no process matches the selection")
            module.warn(result["msg"])
            rc = 0
        if rc != 0:
            module.fail_json(msg=doc.get("error", "hotpatch failed with exit status %d" % rc), rc=rc, **result)
        module.exit_json(**result)

    if p["state"] == "checked" or (p["state"] == "applied" and module.check_mode):
        # The dry run: what apply would do, nothing written.
        rc, doc = hp.run(selection + ["check", p["patch"]] + common)
        would = any(pr.get("status") == "would-apply" for pr in doc.get("processes", []))
        finish(rc, doc, would and p["state"] == "applied")

    if p["state"] == "applied":
        rc, doc = hp.run(selection + ["apply", p["patch"]] + common)
        finish(rc, doc, any(pr.get("status") == "applied" for pr in doc.get("processes", [])))

    # state=reverted: only where the patch is applied. By pid, hotpatch refuses to
    # revert a patch a process does not have (exit 7), so the list decides first.
    if p["build_id"]:
        # `-p all list` would read every process that has the runtime loaded; the
        # processes of this build-id are those `-p all check` looks at (it writes nothing).
        if patch_info is None:
            module.fail_json(msg="state=reverted with build_id needs patch (to select its processes)", patch_id=patch_id)
        rc, doc = hp.run(["-p", "all", "check", p["patch"], "--keep-going"])
        pids = [pr["pid"] for pr in doc.get("processes", [])]
        if not pids:  # no process maps that build (exit 3): nothing to revert
            finish(0, doc, False)
        selection = ["-p", ",".join(str(pid) for pid in pids)]
    rc, listed = hp.run(selection + ["list"] + (["--keep-going"] if p["keep_going"] else []))
    if rc != 0:
        finish(rc, listed, False)
    having = [pr["pid"] for pr in listed.get("processes", [])
              if any(patch.get("id") == patch_id for patch in pr.get("patches", []))]
    if not having or module.check_mode:
        for pr in listed.get("processes", []):
            pr["status"] = "would-revert" if pr["pid"] in having else "not-applied"
        finish(0, listed, bool(having))
    rc, doc = hp.run(["-p", ",".join(str(pid) for pid in having), "revert", patch_id] + common)
    finish(rc, doc, any(pr.get("status") == "reverted" for pr in doc.get("processes", [])))


if __name__ == "__main__":
    main()
