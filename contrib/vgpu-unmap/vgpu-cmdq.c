/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
#include "qemu/osdep.h"
#include "qemu/main-loop.h"
#include "vgpu-cmdq.h"
#include "vgpu-stats.h"

void vgpu_cmdq_init(VgpuCmdQueue *q, VgpuCmdProcessFunc *process,
                    void *opaque)
{
    memset(q, 0, sizeof(*q));
    QTAILQ_INIT(&q->cmds);
    q->process = process;
    q->opaque = opaque;
}

void vgpu_cmd_init(VgpuCmd *cmd, VgpuCmdType type, uint64_t resource_id)
{
    memset(cmd, 0, sizeof(*cmd));
    cmd->type = type;
    cmd->resource_id = resource_id;
    qemu_event_init(&cmd->done, false);
}

void vgpu_cmd_destroy(VgpuCmd *cmd)
{
    qemu_event_destroy(&cmd->done);
}

void vgpu_cmdq_push(VgpuCmdQueue *q, VgpuCmd *cmd)
{
    assert(bql_locked());
    QTAILQ_INSERT_TAIL(&q->cmds, cmd, next);
}

void vgpu_cmdq_block(VgpuCmdQueue *q)
{
    assert(bql_locked());
    q->blocked++;
}

void vgpu_cmdq_unblock(VgpuCmdQueue *q)
{
    assert(bql_locked());
    assert(q->blocked > 0);
    q->blocked--;
}

void vgpu_cmdq_process(VgpuCmdQueue *q)
{
    VgpuCmd *cmd;

    assert(bql_locked());
    /* A command that unblocks the queue must not recurse into it. */
    if (q->processing) {
        return;
    }
    q->processing = true;
    while ((cmd = QTAILQ_FIRST(&q->cmds)) && !q->blocked) {
        bool suspended = false;

        if (cmd->runs++) {
            q->replays++;
        }
        q->process(cmd, &suspended, q->opaque);
        if (suspended) {
            q->suspends++;
            break;
        }
        QTAILQ_REMOVE(&q->cmds, cmd, next);
        q->completed++;
        cmd->complete_ns = vgpu_clock_ns();
        /* The submitter may free cmd as soon as this is set. */
        qemu_event_set(&cmd->done);
    }
    q->processing = false;
}
