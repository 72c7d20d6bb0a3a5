/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copyright (c) 2026 The qemu-rcu authors */
/*
 * A command queue with suspend/resume, modelled on virtio-gpu's cmdq.
 *
 * Commands run in order under the BQL.  A command may suspend itself
 * (for example an unmap that must wait for its region to be freed): it
 * stays at the head of the queue, and is processed again, from the
 * start, when somebody calls vgpu_cmdq_process() after the block has
 * been lifted.  While 'blocked' is non-zero nothing runs (QEMU:
 * renderer_blocked).
 */
#ifndef VGPU_CMDQ_H
#define VGPU_CMDQ_H

#include "qemu/queue.h"
#include "qemu/thread.h"

typedef enum VgpuCmdType {
    VGPU_CMD_MAP_BLOB,
    VGPU_CMD_UNMAP_BLOB,
} VgpuCmdType;

typedef struct VgpuCmd {
    VgpuCmdType type;
    uint64_t resource_id;
    int error;
    uint64_t result;            /* MAP_BLOB: generation of the new map */
    unsigned runs;              /* 1 + the number of replays */
    int64_t submit_ns;          /* set by the submitter */
    int64_t complete_ns;        /* set when it leaves the queue */
    /* Set once the command has left the queue; the queue drops it then. */
    QemuEvent done;
    QTAILQ_ENTRY(VgpuCmd) next;
} VgpuCmd;

/* Runs one command; sets *suspended to leave it at the head. */
typedef void VgpuCmdProcessFunc(VgpuCmd *cmd, bool *suspended, void *opaque);

typedef struct VgpuCmdQueue {
    QTAILQ_HEAD(, VgpuCmd) cmds;
    unsigned blocked;
    bool processing;
    VgpuCmdProcessFunc *process;
    void *opaque;
    uint64_t suspends;
    uint64_t replays;
    uint64_t completed;
} VgpuCmdQueue;

void vgpu_cmdq_init(VgpuCmdQueue *q, VgpuCmdProcessFunc *process,
                    void *opaque);

void vgpu_cmd_init(VgpuCmd *cmd, VgpuCmdType type, uint64_t resource_id);
void vgpu_cmd_destroy(VgpuCmd *cmd);

/* Everything below needs the BQL. */
void vgpu_cmdq_push(VgpuCmdQueue *q, VgpuCmd *cmd);
void vgpu_cmdq_process(VgpuCmdQueue *q);
void vgpu_cmdq_block(VgpuCmdQueue *q);
void vgpu_cmdq_unblock(VgpuCmdQueue *q);

#endif /* VGPU_CMDQ_H */
