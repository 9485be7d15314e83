/* conference — the room side of the MCU (mcu.h): which participants are
 * its sources, when it runs, and the composite's fan-out to every ordinary
 * participant that takes video (and to the recording).
 *
 * Why a file of its own: mcu.c is a GStreamer pipeline that knows nothing
 * of rooms; room-worker.c is the audio tick.  This file is the glue: it
 * makes the CfMcu lazily, feeds it the senders' VP8, turns its events into
 * keyframe requests toward senders (keyframe-requests.c, as the SFU does),
 * follows the mixer's loudest talker as the layout's speaker, and sends
 * its one output stream to each listener under that listener's SSRC,
 * sequence and timestamp offset.
 *
 * When the MCU runs: while someone sends video (a participant whose VP8
 * content sends counts from its first packet) AND (an ordinary listener
 * takes video OR the room records with a video track).  An SFU-only room
 * that does not record runs none.  Once the MCU failed as a whole (fatal)
 * the room has no composite any more (audio goes on); a source that fails
 * is dropped and not added again.
 *
 * Thread rule: every function runs on the room's worker.  The MCU's
 * callbacks (GStreamer and its control thread) only queue into a small
 * locked box that the worker drains on its 20 ms tick; the MCU's output
 * is pulled there too (pull mode, mcu.h).  A CfMcu no longer needed is
 * freed on a thread of its own (cf_mcu_free blocks). */
#pragma once

#include "recorder.h"
#include "room.h"

G_BEGIN_DECLS

typedef struct _CfMcuRoom CfMcuRoom;

/* @composite is copied: the room keeps the values it opened with. */
CfMcuRoom *cf_mcu_room_new (const char *name, const CfCompositeConfig *composite);
void cf_mcu_room_free (CfMcuRoom *mr);

/* @p joined or left (its leg's has_video / video_listens say what it is). */
void cf_mcu_room_join (CfMcuRoom *mr, Participant *p);
void cf_mcu_room_leave (CfMcuRoom *mr, Participant *p);
/* @p turned out to be an XEP-0521 participant: no composite for it. */
void cf_mcu_room_sfu (CfMcuRoom *mr, Participant *p);
/* @p muted (or unmuted) its video: its tile goes (comes back at its next
 * keyframe, which the room asks it for). */
void cf_mcu_room_video_mute (CfMcuRoom *mr, Participant *p, gboolean muted);
/* The room's recorder (NULL: none); the composite goes to it when it has
 * a video track. */
void cf_mcu_room_set_recorder (CfMcuRoom *mr, CfRecorder *rec);
/* One VP8 packet of @p (after the SFU path learnt its SSRC). */
void cf_mcu_room_push_video (CfMcuRoom *mr, Participant *p, const BfPacket *packet);
/* @p's RTCP: a PLI or FIR about our composite stream asks for a keyframe. */
void cf_mcu_room_rtcp (CfMcuRoom *mr, Participant *p, const BfPacket *packet);
/* The tick: the MCU's events, the speaker, its output to the listeners. */
void cf_mcu_room_tick (CfMcuRoom *mr, CfMixer *mixer, GPtrArray *by_mixer_id, gint64 now);

G_END_DECLS
