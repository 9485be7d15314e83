/* conference — a room and its participants, as the conference module's
 * files share them.
 *
 * Why a header: the module's jobs live in files of their own (conference.c
 * the module and its hooks, room.c rooms and who is in them, room-worker.c
 * what runs on a room's worker, conference-info.c XEP-0298, moderation.c
 * XEP-0050); they all read these structures.
 *
 * Thread rule (docs/architecture.md, "Threads and ownership"):
 *   - Conference, Room and a Participant's main-thread fields are the main
 *     thread's.
 *   - A Room's RoomMedia (its mixer, its timer, the legs it sends to) and a
 *     Participant's `leg` are the room worker's: the main thread changes
 *     them only by posting work there (bf_worker_invoke), in posting order.
 *     Leg fields the main thread fills in before the first post (payload
 *     type, header extension id, our SSRC, cname) are never changed after.
 *   - A Participant is its session's data (bf_session_set_data): the core
 *     frees it after the session's last media() call, on whichever thread
 *     lets the session go last; the main thread lets go of it in ended(),
 *     whose posted leave job runs on the worker before the core's teardown
 *     there (session.h).
 */
#pragma once

#include <belfry/module.h>
#include <belfry/metrics.h>

#include "keyframe-requests.h"
#include "mixer.h"
#include "rtcp.h"
#include "rtcp-feedback.h"
#include "rtx-buffer.h"
#include "sfu-stream.h"
#include "bandwidth.h"
#include "last-n.h"
#include "mcu.h"

G_BEGIN_DECLS

#define CF_PTIME_MS 20
#define CF_CLOCK 48000                                   /* RFC 7587: always 48 kHz */
#define CF_SAMPLES_PER_TICK (CF_CLOCK / 1000 * CF_PTIME_MS)   /* 960 */
#define CF_AUDIO_LEVEL_URI "urn:ietf:params:rtp-hdrext:ssrc-audio-level"   /* RFC 6464 */
#define CF_NS_COIN "urn:xmpp:coin:1"                                        /* XEP-0298 */
#define CF_NS_CONFERENCE_INFO "urn:ietf:params:xml:ns:conference-info"      /* RFC 4575 */
#define CF_NS_COMMANDS "http://jabber.org/protocol/commands"                /* XEP-0050 */
#define CF_NS_DATA "jabber:x:data"                                          /* XEP-0004 */
#define CF_NS_AV_CONFERENCES "urn:xmpp:jingle:av-conferences:0"             /* XEP-0521 */
/* Payload types of the sessions the room places to XEP-0521 receivers
 * (sfu-signal.c offers them, sfu-room.c writes them: every forwarded
 * packet is rebuilt, so the sender's own numbers do not matter). */
#define CF_FWD_OPUS_PT 111
#define CF_FWD_VP8_PT 96
#define CF_FWD_H264_PT 102     /* RFC 6184 mode 1, the sender's profile-level-id */
/* RFC 4588 retransmissions of the video stream (apt=96 or 102: a session
 * carries one sender's one codec), on an SSRC of their own: a NACK cannot
 * be answered with the packet itself, since sending an SRTP index twice
 * would reuse its keystream (srtp-session.c refuses it). */
#define CF_FWD_RTX_PT 97
#define CF_FWD_LEVEL_EXT 1
#define CF_FWD_TWCC_EXT 3      /* transport-wide sequence numbers (simulcast layer choice) */
#define CF_TWCC_URI "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
/* Longest room name taken (a localpart may be 1023 bytes; a room's name is
 * shown to people and logged). */
#define CF_MAX_ROOM_NAME 64

/* The payload type a forwarded session gives a sender's video codec. */
static inline guint8
cf_fwd_video_pt (CfMcuCodec codec)
{
  return codec == CF_MCU_CODEC_H264 ? CF_FWD_H264_PT : CF_FWD_VP8_PT;
}

typedef struct _Conference Conference;
typedef struct _Room Room;
typedef struct _RoomMedia RoomMedia;

/* The composite picture ordinary clients get ([conference] composite-size,
 * composite-fps, composite-bitrate; rooms opened after a reload take the
 * new values). */
typedef struct {
  guint width, height;     /* even, 64..1920 × 64..1080 (mcu.h) */
  guint fps;               /* 1..30 */
  guint kbps;              /* 50..8000, CBR */
} CfCompositeConfig;
#define CF_COMPOSITE_DEFAULT_SIZE "640x360"
#define CF_COMPOSITE_DEFAULT_FPS 15
#define CF_COMPOSITE_DEFAULT_KBPS 500
typedef struct _Participant Participant;
typedef struct _Forward Forward;

/* What a session's data is (bf_session_set_data): a participant's own call
 * to the room, or a session the room placed to forward another's streams
 * (XEP-0521).  The first member of both structures. */
typedef enum {
  CF_DATA_PARTICIPANT = 0x50415254,
  CF_DATA_FORWARD = 0x46575244,
} CfDataKind;

/* What the worker keeps per participant: receiving its audio, sending it
 * the mix.  Worker-only once joined (see the thread rule). */
typedef struct {
  /* Set on the main thread before the join is posted, then read-only. */
  guint8 pt;               /* Opus payload type of the answer (the offer's number) */
  guint8 level_ext;        /* RFC 8285 id of ssrc-audio-level, 0: not negotiated */
  gboolean listens;        /* the room sends to it (its audio senders are not 'initiator') */
  guint32 ssrc;            /* ours toward this participant */
  char cname[24];          /* ours (RTCP SDES) */
  char sid[64];            /* for logs */
  /* Worker only. */
  RoomMedia *media;        /* while joined */
  gboolean joined;
  gboolean ready;          /* media_ready: the peer has its keys */
  guint mixer_id;
  /* Sending */
  guint16 seq;
  guint32 ts_base;         /* timestamp of tick index 0 */
  guint64 last_sent_tick;  /* tick index + 1 of the last packet sent; 0: never */
  guint64 sent_packets, sent_octets, send_failed;
  guint64 next_report_tick;
  /* Receiving */
  CfRecvStats recv;        /* of its Opus stream (RFC 3550) */
  gint64 last_arrival;     /* monotonic µs of its last Opus RTP */
  guint64 rtp_in, rtp_other, rtcp_in, rtcp_bad;
  /* The SFU (sfu-room.c).  Set before the join is posted, then read-only: */
  gboolean has_video;      /* we answered its VP8 or H.264 with senders 'initiator' */
  guint8 video_pt;         /* its video payload type */
  CfMcuCodec video_codec;  /* VP8 or H.264 (mode 1), the answer's, both directions;
                            * forwarded as it is to XEP-0521 participants (sfu-room.c) */
  guint n_layers;          /* simulcast layers it announced (ssrc-group SIM), 0: one,
                            * learned from its first video packet */
  guint32 layers[CF_SFU_MAX_LAYERS];   /* lowest first */
  /* Worker only: */
  gboolean muted;          /* out of the mix: its audio is not forwarded either */
  gboolean sfu;            /* an XEP-0521 participant: gets separate streams, not the mix */
  GPtrArray *forwards;     /* Forward* carrying its streams to others */
  guint32 video_ssrc;      /* its one video stream, learned (n_layers 0) */
  CfRtxStore *rtx_store;   /* its video as forwarded, kept once for every receiver's
                            * retransmissions (made for the first with rtx) */
  gint64 video_last_arrival;
  CfKeyframeRequests keyframes;   /* receivers' requests toward it, merged */
  guint64 video_in;
  /* The MCU (mcu-room.c).  Set before the join is posted, then read-only: */
  gboolean video_listens;  /* we answered its VP8 'both' or 'responder': it gets the
                            * composite (unless it turns out to be an XEP-0521 client) */
  guint32 mcu_ssrc;        /* ours for the composite toward it */
  /* Worker only: */
  gboolean mcu_sending;    /* its VP8 came: it counts for the MCU (mcu-room.c) */
  gboolean video_muted;    /* its own session-info mute of its video: no tile */
  gboolean mcu_source;     /* its VP8 is a source of the room's MCU */
  gboolean mcu_failed;     /* its source failed: not added again */
  gint64 mcu_ask_again;    /* monotonic µs: a second keyframe request after the add */
  gboolean mcu_started;    /* sent composite RTP (the offsets below are set) */
  guint16 mcu_seq;
  guint32 mcu_ts_offset;
  guint mcu_generation;    /* of the CfMcu the offset is for */
  guint32 mcu_last_ts;     /* the last timestamp sent, and when */
  gint64 mcu_last_sent;
  guint64 mcu_sent, mcu_keyframes_asked;
  guint64 mcu_octets;      /* payload octets of the composite sent (its SR) */
  guint64 mcu_reports_sent;
  /* Simulcast and last-N (sfu-room.c): each layer's bitrate as received
   * (bytes over the current second, the last second's rate), when it last
   * spoke (the mixer's talkers), whether its video is in the last N and
   * its audio among the talkers forwarded. */
  guint64 layer_bytes[CF_SFU_MAX_LAYERS];
  guint64 layer_bps[CF_SFU_MAX_LAYERS];
  gint64 layer_last[CF_SFU_MAX_LAYERS];   /* monotonic µs of its last packet */
  gint64 layer_window;
  /* Each layer's frame size (its one stream's: index 0) from its last VP8
   * keyframe or H.264 SPS; 0 while unknown (none seen yet). */
  guint layer_width[CF_SFU_MAX_LAYERS], layer_height[CF_SFU_MAX_LAYERS];
  gint64 last_spoke;
  gboolean in_last_n, audio_forwarded;
  gboolean audio_resumed;  /* forwarded again: receivers' numbering goes on without a gap */
  /* Its forwards as the SFU's per-packet and per-tick paths need them
   * without visiting each (sfu-room.c: a visit costs cache misses, and a
   * room of 50 has 2,450 forwards, ticked 50 times a second): how many
   * carry audio (the withheld count of a non-talker's packet), when the
   * earliest sender report of one is due (G_MAXINT64: none ready), the
   * last N as their layers were last chosen, and whether a stream may
   * still wait for a keyframe (cf_sfu_stream_waiting). */
  guint n_audio_forwards;
  gint64 forwards_report_due;
  gboolean forwards_in_last_n;
  gboolean forwards_waiting;
} Leg;

/* What the worker keeps per forwarded session (sfu-room.c): one sender's
 * audio and video toward one XEP-0521 receiver.
 *
 * The order is the forwarding path's: a room's worker goes through all of
 * a sender's forwards for each packet (2,450 of them in a room of 50, far
 * more than the caches hold), and each cache line of a forward it touches
 * is a miss.  What every forwarded packet reads and writes comes first,
 * in the three lines after the Forward's session pointer; the rest after. */
typedef struct {
  /* Set on the main thread before the join is posted, then read-only. */
  gboolean has_audio, has_video;
  guint8 level_ext;        /* RFC 8285 id of the audio level in our offer, 0: none */
  guint32 audio_ssrc;      /* ours */
  /* Worker only: the per-packet part. */
  gboolean ready;
  gboolean video_wanted;   /* its stream has a target layer (read per packet without
                            * the stream, which a paused receiver's packets need not touch) */
  gboolean paused;         /* its source is out of the last N: no video sent */
  guint16 twcc_seq;        /* our transport-wide sequence number (stamp_twcc) */
  CfSfuStream *video;
  CfRtxBuffer *rtx;        /* what we sent, by our sequence number (NACKs); only with rtx_on */
  /* Layer choice (sfu-room.c): the receiver's estimate on this session
   * (REMB, or ours from its transport-cc feedback on the transport-wide
   * numbers we stamp). */
  CfBandwidth *bwe;
  /* RTCP sender reports: what was sent, and the newest timestamp of each
   * stream with when it went out (for the SR's RTP time of "now"); when
   * the next is due (near ready: the tick's visit reads both). */
  guint64 sent_video, video_octets;
  gint64 next_report;      /* monotonic µs */
  gint64 video_last_sent;
  guint64 sent_audio, audio_octets;
  /* Audio: the sender's stream under our SSRC, sequence and timestamps
   * continuous across a change of its SSRC. */
  gboolean audio_started;
  guint32 audio_src_ssrc;
  guint16 audio_seq_delta;
  guint16 audio_last_seq;
  guint32 audio_ts_delta;
  guint32 audio_last_ts;
  guint32 video_last_ts;
  gint64 audio_last_arrival;
  /* Set on the main thread before the join is posted, then read-only. */
  guint32 video_ssrc;      /* ours */
  guint32 rtx_ssrc;        /* ours, for video retransmissions (FID group) */
  char cname[24];          /* ours, one for both streams (RFC 3550 §6.5.1: synchronised) */
  char sid[64];
  Participant *source;     /* valid while joined (the source's leave job comes after ours) */
  RoomMedia *media;
  /* Worker only. */
  gboolean joined;
  gboolean rtx_on;         /* the receiver took our rtx payload type (cf_sfu_post_rtx) */
  guint16 rtx_seq;         /* the retransmission stream's own numbering */
  guint64 nacks_unanswerable;  /* NACKed while it had no rtx: not resent */
  CfFirHistory firs;
  guint64 send_failed, rtcp_in, rtcp_bad;
  guint64 keyframes_asked, nacked, resent, reports_sent;
  CfLayerChoice choice;    /* the layer the estimate fits (bandwidth.h) */
  guint64 rr_octets;       /* video octets sent at the receiver's last report */
  gint64 rr_time;          /* and when it came (monotonic µs; 0: none yet) */
  /* The size the receiver displays this stream at (XEP-0167 §9, its
   * session-accept or description-info: cf_sfu_post_display); 0: it said
   * nothing, no size cap. */
  guint view_width, view_height;
  guint64 rembs, twcc_feedbacks, loss_reports, layer_switches;
} FwdLeg;

struct _Forward {
  CfDataKind kind;         /* CF_DATA_FORWARD */
  /* Main thread. */
  Room *room;              /* NULL once ended() ran */
  Participant *source;     /* whose streams; NULL once it left */
  Participant *receiver;   /* to whom; NULL once it left */
  BfSession *session;
  gboolean ending;         /* the room ends it (not the receiver) */
  FwdLeg leg;
};

struct _Participant {
  CfDataKind kind;         /* CF_DATA_PARTICIPANT */
  /* Main thread. */
  Room *room;              /* NULL once ended() ran */
  BfSession *session;
  char *peer;              /* full JID */
  char *bare;
  char *audio_content;     /* the content name we answered with audio */
  guint number;            /* 1, 2, ... in order of joining: ids in commands */
  gboolean self_muted;     /* its own session-info mute */
  gboolean video_self_muted; /* ... of its video content */
  gboolean moderator_muted;
  gboolean on_hold;        /* XEP-0167 §7.3 hold: out of the mix until unhold */
  gboolean listen_only;    /* its audio senders are 'responder': it sends nothing */
  gboolean coin;           /* it advertises urn:xmpp:coin:1: send it conference-info */
  char *caps_query_id;     /* our disco#info to it, while unanswered */
  gboolean sfu;            /* it advertises urn:xmpp:jingle:av-conferences:0 */
  BfSessionMedia *offer;   /* what it offered: the streams forwarded from it */
  gint audio_index, video_index;   /* their contents in @offer (-1: none sent to us) */
  GArray *refused;         /* numbers of participants whose forwarded session it
                            * ended: not placed again */
  gint64 joined_at;        /* monotonic µs */
  Leg leg;
};

struct _Room {
  Conference *conference;
  char *name;              /* lower case */
  char *jid;               /* name@domain */
  char *first_bare;        /* the first participant: a moderator while the room lives */
  gboolean first_removed;  /* ... unless a moderator removed it (then nobody is, by
                            * joining first: it would be back at once) */
  GPtrArray *participants; /* Participant*, in order of joining */
  BfWorker *worker;        /* the worker of every session of the room */
  RoomMedia *media;        /* the worker's (post to it) */
  guint next_number;
  guint64 info_version;    /* RFC 4575 'version' of the conference-info we send */
  guint info_source;       /* a coalesced broadcast pending (main context) */
  gint64 info_next;        /* monotonic µs: no broadcast before (the byte budget) */
  gint64 opened_at;
  /* Its XEP-0050 configuration (room-config.c). */
  gboolean recording;      /* a recorder runs on the worker (posted) */
  gboolean recording_video;/* ... and its file has a video track */
  gint *recording_failed;  /* while recording: set by the worker (rc box) */
  guint recording_watch;   /* while recording: polls it (main context) */
  guint max_participants;  /* 0: [conference] max-participants */
  char **moderators;       /* bare JIDs, lower case, besides the first and the global ones */
  GPtrArray *forwards;     /* Forward*, the sessions placed for XEP-0521 receivers */
};

struct _Conference {
  BfModule *module;
  /* Configuration ([conference]) */
  char **rooms;            /* NULL: any name ('*') */
  char **allow;            /* NULL: any domain */
  char **moderators;       /* bare JIDs, lower case; may be NULL */
  gint64 max_participants;
  CfMixerConfig mixer_config;
  CfCompositeConfig composite;   /* [conference] composite-* (mcu-room.c) */
  char *record_dir;        /* [conference] record-dir; NULL: no recording */
  gboolean record;         /* [conference] record: rooms record from their start */
  /* State */
  GHashTable *by_name;     /* name -> Room* (open rooms) */
  GHashTable *caps_queries;/* our iq id -> Participant* (disco#info sent to it) */
  GHashTable *command_sessions;  /* XEP-0050 sessionid -> CommandSession* */
  guint64 query_seq;
  /* Metrics */
  BfMetric *m_joined, *m_declined, *m_busy, *m_rooms_opened, *m_removed, *m_muted;
  BfMetric *m_fwd_placed, *m_fwd_refused;   /* XEP-0521 sessions (sfu-signal.c) */
  BfMetric *g_rooms, *g_participants;
};

/* --- room.c (main thread) --- */

/* @s in lower case, as names and JIDs are compared here: Unicode lower case
 * (the server's nodeprep or PRECIS maps a localpart's upper case, É too, to
 * lower case; a room or moderator written "Équipe" in the configuration
 * must match what the server sends); ASCII only when @s is not UTF-8. */
char *cf_fold (const char *s);

/* TRUE when @localpart names a room this configuration takes (not an
 * escaped JID, a name of [conference] rooms or any with '*'). */
gboolean cf_is_room_name (Conference *cf, const char *localpart);
Room *cf_room_lookup (Conference *cf, const char *name);
/* The room @name, opened for @session (its worker becomes the room's). */
Room *cf_room_open (Conference *cf, const char *name, BfSession *session);
/* @listens: FALSE for a caller who only sends (senders='initiator'): the
 * room sends it nothing; @listen_only: TRUE for one who only receives
 * ('responder'). */
/* @offer (taken) is what the caller offered, @audio and @video the
 * contents the room takes from it (@video -1: none), @video_pt its VP8 or
 * H.264 (@video_codec). */
/* @video_listens: the room sends it the composite video (its video
 * content, payload type @video_pt, is 'both' or 'responder'). */
Participant *cf_room_add (Room *room, BfSession *session, BfSessionMedia *offer, gint audio,
                          gint video, guint8 pt, guint8 video_pt, CfMcuCodec video_codec,
                          gboolean listens, gboolean listen_only, guint8 level_ext,
                          gboolean video_listens);
/* TRUE when someone in the room sends video (a recording then takes the
 * composite as its video track). */
gboolean cf_room_has_video (Room *room);
/* The participant's session ended: out of the room (posts the leave); the
 * room ends with its last one.  @p stays the session's data. */
void cf_room_remove (Room *room, Participant *p, const char *reason);
Participant *cf_room_find_number (Room *room, guint number);
gboolean cf_room_is_moderator (Room *room, const char *jid);
void cf_participant_update_mute (Participant *p);

/* --- room-worker.c (posted to, and run on, the room's worker) --- */

RoomMedia *cf_room_media_new (BfWorker *worker, const CfMixerConfig *config,
                              const CfCompositeConfig *composite, const char *name);
/* Posts: */
void cf_room_media_post_join (RoomMedia *media, Participant *p);
void cf_room_media_post_leave (RoomMedia *media, Participant *p);
void cf_room_media_post_mute (RoomMedia *media, Participant *p, gboolean muted);
/* Its video muted (XEP-0167 session-info on its video content): out of the
 * composite until unmuted. */
void cf_room_media_post_video_mute (RoomMedia *media, Participant *p, gboolean muted);
void cf_room_media_post_free (RoomMedia *media);
/* The worker's scratch for reading one RTCP compound (worker only). */
CfFeedback *cf_room_media_feedback (RoomMedia *media);
/* Hands @rec (NULL: none) to the worker, which feeds it the shared mix
 * every tick; a recorder it had is closed (recorder.h).  @failed (with
 * @rec; a ref is taken) is a g_atomic_rc_box'ed gint the worker sets to 1
 * when that recorder fails: the main thread's way to learn it
 * (room-config.c polls it while the room records). */
struct _CfRecorder;
void cf_room_media_post_record (RoomMedia *media, struct _CfRecorder *rec, gint *failed);
/* @p is an XEP-0521 participant: no mix for it from now on. */
void cf_room_media_post_sfu (RoomMedia *media, Participant *p);
/* Hooks on the worker. */
void cf_leg_media (Participant *p, BfSession *session, BfPacket *packet);
void cf_leg_ready (Participant *p);

/* --- sfu-room.c (the room's worker: forwarding without decoding) --- */

/* Posts (main thread): the forwarded session @f starts carrying its
 * source's streams; it stops (before the core lets go of its session, and
 * before its source's own leave job). */
void cf_sfu_post_join (RoomMedia *media, Forward *f);
void cf_sfu_post_leave (RoomMedia *media, Forward *f);
/* The receiver's answer: it took our RFC 4588 rtx payload type (@rtx:
 * NACKs are answered on the retransmission SSRC from now on), or it did
 * not take the video we offered (!@video: none is sent on it). */
void cf_sfu_post_answer (Forward *f, gboolean rtx, gboolean video);
/* The receiver displays @f's video at @width x @height (bounded by the
 * caller: CF_DISPLAY_MIN..MAX): its layer is chosen again at once. */
void cf_sfu_post_display (Forward *f, guint width, guint height);
/* Worker: the sender's Opus (after the mixer took it) and VP8 or H.264
 * packets to each of its forwarded sessions; its keyframe requests on the tick; what
 * a receiver sends on a forwarded session (RTCP feedback). */
void cf_sfu_forward_audio (Participant *source, const BfPacket *packet);
void cf_sfu_forward_video (Participant *source, const BfPacket *packet);
void cf_sfu_tick (Participant *source, gint64 now);
void cf_sfu_source_left (Participant *source);
/* After each tick's mix: the mixer's current talkers @talkers[0..@n)
 * (participants), for last-N and the audio forwarded. */
void cf_sfu_talkers (GPtrArray *by_id, Participant **talkers, guint n, gint64 now);
/* [conference] last-n, from any thread (an atomic the workers read). */
void cf_sfu_set_last_n (guint n);
/* The module's counters of packets the room chose not to forward (set once
 * in init, before any worker runs; metrics are atomic). */
void cf_sfu_set_withheld_metrics (BfMetric *audio, BfMetric *video);
void cf_fwd_media (Forward *f, BfPacket *packet);
void cf_fwd_ready (Forward *f);

/* --- sfu-signal.c (main thread: placing and ending forwarded sessions) --- */

/* @p's client advertises XEP-0521: it gets a session per other sender. */
void cf_sfu_participant_is_sfu (Room *room, Participant *p);
/* @p joined: a session carrying its streams to each XEP-0521 participant. */
void cf_sfu_joined (Room *room, Participant *p);
/* @p leaves: every session carrying its streams, or carrying others' to
 * it, ends. */
void cf_sfu_leaving (Room *room, Participant *p);
/* Hooks of a forwarded session. */
void cf_fwd_answered (Forward *f);
/* The receiver's description-info on a forwarded session (XEP-0167 §9):
 * the size it displays the video at, if it says one. */
void cf_fwd_description_info (Forward *f, const BfSessionMedia *suggested);
void cf_fwd_ended (Forward *f, const char *reason);

/* --- conference-info.c (main thread) --- */

/* Asks @p's client whether it takes XEP-0298 conference-info. */
void cf_info_query_caps (Room *room, Participant *p);
/* A result or error to one of our iqs: TRUE when it was ours. */
gboolean cf_info_handle_reply (Conference *cf, const BfStanza *iq);
/* Sends the room's state to every participant that takes it, within
 * CF_INFO_COALESCE_MS (changes in between go out together), and, after a
 * broadcast of B bytes, not before B / CF_INFO_BYTES_PER_SECOND: a document
 * grows with the room (and with its participants' resources, up to 1 KB
 * each) and goes to each of them, so a room's changes would cost N² bytes
 * five times a second. */
#define CF_INFO_COALESCE_MS 200
#define CF_INFO_BYTES_PER_SECOND (256 * 1024)
void cf_info_broadcast (Room *room);
void cf_info_cancel (Room *room);
/* disco#info of a room (count form), for @iq. */
void cf_info_disco_reply (Conference *cf, const BfStanza *iq, const char *name,
                          gboolean with_count);

/* --- moderation.c (main thread) --- */

/* A XEP-0004 <field/> of @form: @type and @label may be NULL, and @value
 * (one <value/>) too. */
BfStanza *cf_form_add_field (BfStanza *form, const char *var, const char *type,
                             const char *label, const char *value);

/* An iq to a room in the XEP-0050 namespace, or disco#items node commands:
 * TRUE when handled. */
gboolean cf_moderation_handle (Conference *cf, const BfStanza *iq, const char *name);
void cf_moderation_free_sessions (Conference *cf);

G_END_DECLS
