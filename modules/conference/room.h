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

#include "mixer.h"
#include "rtcp.h"

G_BEGIN_DECLS

#define CF_PTIME_MS 20
#define CF_CLOCK 48000                                   /* RFC 7587: always 48 kHz */
#define CF_SAMPLES_PER_TICK (CF_CLOCK / 1000 * CF_PTIME_MS)   /* 960 */
#define CF_AUDIO_LEVEL_URI "urn:ietf:params:rtp-hdrext:ssrc-audio-level"   /* RFC 6464 */
#define CF_NS_COIN "urn:xmpp:coin:1"                                        /* XEP-0298 */
#define CF_NS_CONFERENCE_INFO "urn:ietf:params:xml:ns:conference-info"      /* RFC 4575 */
#define CF_NS_COMMANDS "http://jabber.org/protocol/commands"                /* XEP-0050 */
#define CF_NS_DATA "jabber:x:data"                                          /* XEP-0004 */
/* Longest room name taken (a localpart may be 1023 bytes; a room's name is
 * shown to people and logged). */
#define CF_MAX_ROOM_NAME 64

typedef struct _Conference Conference;
typedef struct _Room Room;
typedef struct _RoomMedia RoomMedia;
typedef struct _Participant Participant;

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
} Leg;

struct _Participant {
  /* Main thread. */
  Room *room;              /* NULL once ended() ran */
  BfSession *session;
  char *peer;              /* full JID */
  char *bare;
  char *audio_content;     /* the content name we answered with audio */
  guint number;            /* 1, 2, ... in order of joining: ids in commands */
  gboolean self_muted;     /* its own session-info mute */
  gboolean moderator_muted;
  gboolean on_hold;        /* XEP-0167 §7.3 hold: out of the mix until unhold */
  gboolean listen_only;    /* its audio senders are 'responder': it sends nothing */
  gboolean coin;           /* it advertises urn:xmpp:coin:1: send it conference-info */
  char *caps_query_id;     /* our disco#info to it, while unanswered */
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
  guint max_participants;  /* 0: [conference] max-participants */
  char **moderators;       /* bare JIDs, lower case, besides the first and the global ones */
};

struct _Conference {
  BfModule *module;
  /* Configuration ([conference]) */
  char **rooms;            /* NULL: any name ('*') */
  char **allow;            /* NULL: any domain */
  char **moderators;       /* bare JIDs, lower case; may be NULL */
  gint64 max_participants;
  CfMixerConfig mixer_config;
  char *record_dir;        /* [conference] record-dir; NULL: no recording */
  gboolean record;         /* [conference] record: rooms record from their start */
  /* State */
  GHashTable *by_name;     /* name -> Room* (open rooms) */
  GHashTable *caps_queries;/* our iq id -> Participant* (disco#info sent to it) */
  GHashTable *command_sessions;  /* XEP-0050 sessionid -> CommandSession* */
  guint64 query_seq;
  /* Metrics */
  BfMetric *m_joined, *m_declined, *m_busy, *m_rooms_opened, *m_removed, *m_muted;
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
Participant *cf_room_add (Room *room, BfSession *session, const char *audio_content,
                          guint8 pt, gboolean listens, gboolean listen_only,
                          guint8 level_ext);
/* The participant's session ended: out of the room (posts the leave); the
 * room ends with its last one.  @p stays the session's data. */
void cf_room_remove (Room *room, Participant *p, const char *reason);
Participant *cf_room_find_number (Room *room, guint number);
gboolean cf_room_is_moderator (Room *room, const char *jid);
void cf_participant_update_mute (Participant *p);

/* --- room-worker.c (posted to, and run on, the room's worker) --- */

RoomMedia *cf_room_media_new (BfWorker *worker, const CfMixerConfig *config, const char *name);
/* Posts: */
void cf_room_media_post_join (RoomMedia *media, Participant *p);
void cf_room_media_post_leave (RoomMedia *media, Participant *p);
void cf_room_media_post_mute (RoomMedia *media, Participant *p, gboolean muted);
void cf_room_media_post_free (RoomMedia *media);
/* Hands @rec (NULL: none) to the worker, which feeds it the shared mix
 * every tick; a recorder it had is closed (recorder.h). */
struct _CfRecorder;
void cf_room_media_post_record (RoomMedia *media, struct _CfRecorder *rec);
/* Hooks on the worker. */
void cf_leg_media (Participant *p, BfSession *session, BfPacket *packet);
void cf_leg_ready (Participant *p);

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
