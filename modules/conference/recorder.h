/* conference — a room's recording: one WebM file per room session, written
 * by GStreamer from RTP packets the room already has (the shared mix's
 * Opus, later a composited or forwarded VP8 stream): no decode, no encode.
 *
 * Why it is shaped this way (issue 14, "Recording"):
 *   - The caller is the room's worker, which must never block: packets go
 *     into appsrc queues bounded to a few seconds (a full queue drops the
 *     packet and counts it); depayloading, muxing and writing run on
 *     GStreamer's own threads (one per appsrc, the muxer on them).
 *   - webmmux streamable=false: at the end the muxer seeks back and writes
 *     the Duration (what gst-discoverer-1.0 reads) and the cues; a file
 *     cut short (belfry killed, disk full) still plays as far as it got
 *     (its segment size stays unknown, its clusters are short).
 *   - A continuous timeline: a muxer waits for every track, and players
 *     take a hole in audio badly.  Audio timestamps are the room clock's
 *     (the RTP timestamps of the packets pushed, continuous over silence:
 *     960 per 20 ms tick), and every 20 ms with no packet becomes an Opus
 *     silence frame, filled in when a later packet or cf_recorder_tick()
 *     shows the frame will not come.  A video track that stops (nobody
 *     sends video) gets GAP events, so the muxer moves on without it; when
 *     video comes back it waits for a keyframe (cf_recorder_wants_keyframe)
 *     before it writes again, since a delta frame after a hole decodes to
 *     garbage.
 *   - Buffers carry their own timestamps (PTS from the RTP timestamps), so
 *     the pipeline runs as fast as packets come, with no clock: a test can
 *     push minutes of audio in a second.
 *   - A pipeline error (a full disk, a broken stream) ends the recording
 *     with one log line naming the room, never the room: pushes become
 *     no-ops and the owner frees it when the room ends.
 *   - The file is created here (O_EXCL, mode 0640, never overwriting) and
 *     handed to fdsink, so its mode is ours, not the umask's.
 *
 * Thread rule: one owner thread (the room's worker) calls every function
 * but cf_recorder_finish() (which blocks, up to its timeout: tests, or a
 * thread of its own) and cf_recorder_close() (which returns at once and
 * finishes on a thread of its own).  GStreamer's threads touch only the
 * pipeline and the atomic state below (failed, eos). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CfRecorder CfRecorder;

/* Payload types the recorder's appsrc caps name: the RTP pushed must carry
 * them (the room's recording stream is its own, so it picks them). */
#define CF_RECORDER_PT_OPUS 111
#define CF_RECORDER_PT_VP8 96
/* Packets queued toward the muxer before new ones are dropped: 10 s of
 * 20 ms audio, 10 s of video at ~60 packets a second. */
#define CF_RECORDER_MAX_AUDIO_QUEUE 500
#define CF_RECORDER_MAX_VIDEO_QUEUE 600
/* A video track with no packet for this long (room clock) gets a GAP. */
#define CF_RECORDER_VIDEO_HOLD_MS 500
#define CF_RECORDER_VIDEO_FIRST_MS 5000   /* ... before its first frame */
/* The longest RTP packet taken. */
#define CF_RECORDER_MAX_RTP 1500

typedef struct {
  guint64 audio_packets;     /* Opus RTP packets queued toward the muxer */
  guint64 silence_frames;    /* 20 ms silence frames filled in */
  guint64 video_packets;     /* VP8 RTP packets queued */
  guint64 video_gaps;        /* GAP events sent for a stopped video track */
  guint64 video_skipped;     /* packets dropped while waiting for a keyframe */
  guint64 late;              /* audio packets at or before a time already written */
  guint64 dropped;           /* a queue was full */
  guint64 invalid;           /* not RTP, wrong payload type, too long, empty */
} CfRecorderStats;

/* Creates @path (it must not exist: never overwritten; mode 0640) and
 * starts the pipeline.  @label names the recording in logs (the room's
 * name, never a JID).  With @with_video a VP8 track too. */
CfRecorder *cf_recorder_new (const char *path, const char *label, gboolean with_video,
                             GError **error);

/* One Opus RTP packet (payload type CF_RECORDER_PT_OPUS, 48 kHz
 * timestamps of one continuous clock, RFC 7587).  Frames missing before it
 * are filled with silence.  FALSE when not taken (see the stats). */
gboolean cf_recorder_push_audio (CfRecorder *rec, const guint8 *rtp, gsize len);
/* One VP8 RTP packet (CF_RECORDER_PT_VP8, 90 kHz).  Its timeline starts
 * at the audio position when its first packet (after a hole: its first
 * keyframe) comes. */
gboolean cf_recorder_push_video (CfRecorder *rec, const guint8 *rtp, gsize len);
/* The room clock reached @audio_timestamp (the audio stream's RTP clock):
 * audio frames before it that never came are written as silence, and a
 * video track quiet for CF_RECORDER_VIDEO_HOLD_MS gets a GAP.  Call it
 * once per tick, after that tick's packet (if any) was pushed, with that
 * packet's timestamp + 960.  Before the first audio packet it does
 * nothing (the timeline starts with the first packet). */
void cf_recorder_tick (CfRecorder *rec, guint32 audio_timestamp);
/* TRUE when the video track waits for a keyframe (at the start, or after a
 * hole): the owner should ask its source for one. */
gboolean cf_recorder_wants_keyframe (CfRecorder *rec);
/* TRUE once the pipeline failed: nothing more is written. */
gboolean cf_recorder_failed (CfRecorder *rec);
/* TRUE when made with a video track. */
gboolean cf_recorder_has_video (CfRecorder *rec);
void cf_recorder_get_stats (CfRecorder *rec, CfRecorderStats *stats);

/* Ends the file: EOS into the pipeline, then waits up to @timeout_ms for
 * the muxer to write its last cluster.  TRUE when it did (FALSE: it failed
 * or timed out; the file holds what was written).  Then only free. */
gboolean cf_recorder_finish (CfRecorder *rec, guint timeout_ms);
void cf_recorder_free (CfRecorder *rec);
/* cf_recorder_finish (rec, CF_RECORDER_CLOSE_TIMEOUT_MS) then free, on a
 * thread of its own: for the room's worker, which must not wait. */
#define CF_RECORDER_CLOSE_TIMEOUT_MS 5000
void cf_recorder_close (CfRecorder *rec);

/* "<room>-<UTC timestamp>.webm" in @dir for room @name: the name made safe
 * for any filesystem (ASCII letters, digits, '-', '_' and '.' kept, every
 * other byte '_', no leading '.'), at most 64 bytes of it. */
char *cf_recorder_file_name (const char *dir, const char *name, GDateTime *utc);

G_END_DECLS
