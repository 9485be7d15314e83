/* conference — what a room tells about itself: XEP-0298 conference-info
 * (the RFC 4575 document of who is in the call) to the participants whose
 * client takes it, and the room's disco#info with its participant count
 * (XEP-0128).
 *
 * Who takes conference-info: XEP-0298 §7 has a client advertise
 * urn:xmpp:coin:1 in its disco#info.  Dino takes the document (an iq set
 * in the RFC 4575 namespace from its call's counterpart: xmpp-vala
 * 0298_coin.vala, libdino calls.vala) and redraws its call tiles from it,
 * but advertises neither namespace; its disco identity is client/pc
 * "Dino" (libdino module_manager.vala).  The module API tells a module
 * nothing of a peer's caps, so the room asks each participant's full JID
 * itself (disco#info from the room's JID) when it joins, and sends the
 * document to those that list urn:xmpp:coin:1 or the RFC 4575 namespace,
 * and to Dino: a client that does not know the namespace would answer
 * every update with an error.
 *
 * Thread rule: main thread only.
 */
#define G_LOG_DOMAIN "belfry-conference"

#include <string.h>

#include "room.h"

/* The XEP-0128 form on a room's disco#info: XEP-0045's room-info form type
 * and field for the count, which clients already show for rooms. */
#define FORM_TYPE_ROOMINFO "http://jabber.org/protocol/muc#roominfo"

static char *
next_query_id (Conference *cf)
{
  return g_strdup_printf ("cf-caps-%" G_GUINT64_FORMAT "-%08x", ++cf->query_seq,
                          bf_random_u32 ());
}

void
cf_info_query_caps (Room *room, Participant *p)
{
  Conference *cf = room->conference;
  g_autoptr (BfStanza) iq = bf_stanza_new ("iq", NULL);

  p->caps_query_id = next_query_id (cf);
  bf_stanza_set_attr (iq, "type", "get");
  bf_stanza_set_attr (iq, "id", p->caps_query_id);
  bf_stanza_set_attr (iq, "from", room->jid);
  bf_stanza_set_attr (iq, "to", p->peer);
  bf_stanza_add_child (iq, "query", BF_NS_DISCO_INFO);
  g_hash_table_insert (cf->caps_queries, p->caps_query_id, p);
  bf_module_send (cf->module, iq);
}

static gboolean
takes_conference_info (const BfStanza *query)
{
  BfStanzaIter it;
  BfStanza *child;

  bf_stanza_iter_init (&it, query);
  while (bf_stanza_iter_next (&it, &child))
    {
      const char *name = bf_stanza_get_name (child);
      const char *var = bf_stanza_get_attr (child, "var");
      if (g_strcmp0 (name, "feature") == 0
          && (g_strcmp0 (var, CF_NS_COIN) == 0 || g_strcmp0 (var, CF_NS_CONFERENCE_INFO) == 0))
        return TRUE;
      /* Dino: see the top of this file. */
      if (g_strcmp0 (name, "identity") == 0
          && g_strcmp0 (bf_stanza_get_attr (child, "category"), "client") == 0
          && g_strcmp0 (bf_stanza_get_attr (child, "name"), "Dino") == 0)
        return TRUE;
    }
  return FALSE;
}

static void send_info (Room *room, Participant *to);

/* XEP-0521 §"Discovering support": a client that takes a session per
 * forwarded stream lists urn:xmpp:jingle:av-conferences:0. */
static gboolean
speaks_av_conferences (const BfStanza *query)
{
  BfStanzaIter it;
  BfStanza *child;

  bf_stanza_iter_init (&it, query);
  while (bf_stanza_iter_next (&it, &child))
    if (g_strcmp0 (bf_stanza_get_name (child), "feature") == 0
        && g_strcmp0 (bf_stanza_get_attr (child, "var"), CF_NS_AV_CONFERENCES) == 0)
      return TRUE;
  return FALSE;
}

gboolean
cf_info_handle_reply (Conference *cf, const BfStanza *iq)
{
  const char *id = bf_stanza_get_attr (iq, "id");
  const char *from = bf_stanza_get_attr (iq, "from");
  Participant *p;
  BfStanza *query;

  if (id == NULL || g_str_has_prefix (id, "cf-info-"))
    return id != NULL;   /* the acknowledgement of a document we sent */
  p = g_hash_table_lookup (cf->caps_queries, id);
  /* Only the JID we asked may answer (anyone can send an iq result). */
  if (p == NULL || g_strcmp0 (from, p->peer) != 0)
    return FALSE;
  g_hash_table_remove (cf->caps_queries, id);
  g_clear_pointer (&p->caps_query_id, g_free);
  query = bf_stanza_find_child (iq, "query", BF_NS_DISCO_INFO);
  if (g_strcmp0 (bf_stanza_get_attr (iq, "type"), "result") != 0 || query == NULL
      || p->room == NULL)
    return TRUE;
  if (takes_conference_info (query))
    {
      p->coin = TRUE;
      g_info ("room %s: call %s takes XEP-0298 conference-info", p->room->name,
              bf_session_get_sid (p->session));
      send_info (p->room, p);
    }
  if (speaks_av_conferences (query))
    cf_sfu_participant_is_sfu (p->room, p);
  return TRUE;
}

/* RFC 4575 §5: the whole document (state 'full'), numbered. */
static BfStanza *
conference_info (Room *room)
{
  BfStanza *info = bf_stanza_new ("conference-info", CF_NS_CONFERENCE_INFO);
  g_autofree char *entity = g_strdup_printf ("xmpp:%s", room->jid);
  g_autofree char *version = g_strdup_printf ("%" G_GUINT64_FORMAT, room->info_version);
  g_autofree char *count = NULL;
  BfStanza *desc, *state, *users;

  bf_stanza_set_attr (info, "entity", entity);
  bf_stanza_set_attr (info, "state", "full");
  bf_stanza_set_attr (info, "version", version);
  desc = bf_stanza_add_child (info, "conference-description", NULL);
  bf_stanza_add_text_child (desc, "subject", NULL, room->name);
  state = bf_stanza_add_child (info, "conference-state", NULL);
  users = bf_stanza_add_child (info, "users", NULL);
  /* RFC 4575 §5.6: one <user/> per user (bare JID), an <endpoint/> per
   * device of it in the call. */
  g_autoptr (GHashTable) by_bare = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < room->participants->len; i++)
    {
      Participant *p = g_ptr_array_index (room->participants, i);
      g_autofree char *endpoint_entity = g_strdup_printf ("xmpp:%s", p->peer);
      BfStanza *user = g_hash_table_lookup (by_bare, p->bare);
      BfStanza *endpoint, *media;

      if (user == NULL)
        {
          g_autofree char *user_entity = g_strdup_printf ("xmpp:%s", p->bare);
          g_autofree char *local = NULL;
          user = bf_stanza_add_child (users, "user", NULL);
          bf_jid_split (p->bare, &local, NULL, NULL);
          bf_stanza_set_attr (user, "entity", user_entity);
          bf_stanza_set_attr (user, "state", "full");
          bf_stanza_add_text_child (user, "display-text", NULL, local != NULL ? local : p->bare);
          g_hash_table_insert (by_bare, p->bare, user);
        }
      endpoint = bf_stanza_add_child (user, "endpoint", NULL);
      bf_stanza_set_attr (endpoint, "entity", endpoint_entity);
      /* RFC 4575 §5.6.2 */
      bf_stanza_add_text_child (endpoint, "status", NULL, p->on_hold ? "on-hold" : "connected");
      media = bf_stanza_add_child (endpoint, "media", NULL);
      bf_stanza_set_attr (media, "id", "1");
      bf_stanza_add_text_child (media, "type", NULL, "audio");
      /* RFC 4575 §5.7.1.3, from the participant's side: it sends unless
       * muted (by itself or a moderator), held or listening only; it
       * receives unless held or talking only. */
      gboolean sends = !(p->self_muted || p->moderator_muted || p->on_hold || p->listen_only);
      gboolean receives = !p->on_hold && p->leg.listens;
      bf_stanza_add_text_child (media, "status", NULL,
                                sends ? (receives ? "sendrecv" : "sendonly")
                                      : (receives ? "recvonly" : "inactive"));
    }
  /* RFC 4575 §5.5.1: users, not devices. */
  count = g_strdup_printf ("%u", g_hash_table_size (by_bare));
  bf_stanza_add_text_child (state, "user-count", NULL, count);
  bf_stanza_add_text_child (state, "active", NULL, "true");
  return info;
}

/* XEP-0298 §6: an iq set carrying the document, with the <jingle sid/> of
 * the session it is about. */
static void
send_info (Room *room, Participant *to)
{
  Conference *cf = room->conference;
  g_autoptr (BfStanza) iq = bf_stanza_new ("iq", NULL);
  g_autofree char *id = g_strdup_printf ("cf-info-%" G_GUINT64_FORMAT, ++cf->query_seq);
  BfStanza *jingle;

  bf_stanza_set_attr (iq, "type", "set");
  bf_stanza_set_attr (iq, "id", id);
  bf_stanza_set_attr (iq, "from", room->jid);
  bf_stanza_set_attr (iq, "to", to->peer);
  jingle = bf_stanza_add_child (iq, "jingle", "urn:xmpp:jingle:1");
  bf_stanza_set_attr (jingle, "sid", bf_session_get_sid (to->session));
  bf_stanza_append (iq, conference_info (room));
  bf_module_send (cf->module, iq);
}

static gboolean
broadcast_now (gpointer data)
{
  Room *room = data;
  guint sent = 0;

  room->info_source = 0;
  room->info_version++;
  for (guint i = 0; i < room->participants->len; i++)
    {
      Participant *p = g_ptr_array_index (room->participants, i);
      if (p->coin)
        {
          send_info (room, p);
          sent++;
        }
    }
  if (sent > 0)
    {
      /* What it cost: the document, and the iq around it (its addresses,
       * the <jingle sid/>), to each. */
      g_autoptr (BfStanza) doc = conference_info (room);
      g_autofree char *text = bf_stanza_to_string (doc);
      guint64 bytes = (guint64) sent * (strlen (text) + 256);
      room->info_next = g_get_monotonic_time ()
                        + (gint64) (bytes * G_USEC_PER_SEC / CF_INFO_BYTES_PER_SECOND);
    }
  return G_SOURCE_REMOVE;
}

/* Changes are sent together, at most one document per participant every
 * CF_INFO_COALESCE_MS, and a room's documents within its byte budget
 * (room.h): each change costs a document to every participant that takes
 * them, so a burst of joins, or a participant toggling mute in a loop,
 * must not cost N stanzas per change, nor N² bytes five times a second. */
void
cf_info_broadcast (Room *room)
{
  gint64 wait_ms = CF_INFO_COALESCE_MS;
  gint64 budget_us = room->info_next - g_get_monotonic_time ();

  if (room->info_source != 0)
    return;
  if (budget_us > wait_ms * 1000)
    wait_ms = (budget_us + 999) / 1000;
  room->info_source = g_timeout_add ((guint) wait_ms, broadcast_now, room);
}

void
cf_info_cancel (Room *room)
{
  if (room->info_source != 0)
    g_source_remove (room->info_source);
  room->info_source = 0;
}

void
cf_info_disco_reply (Conference *cf, const BfStanza *iq, const char *name,
                     gboolean with_count)
{
  static const char *const features[] = {
    BF_NS_DISCO_INFO, BF_NS_DISCO_ITEMS, "urn:xmpp:ping", CF_NS_COMMANDS, CF_NS_COIN,
    CF_NS_AV_CONFERENCES, BF_SESSION_DISCO_FEATURES, BF_NS_CAPS, NULL
  };
  Room *room = cf_room_lookup (cf, name);
  g_autoptr (BfStanza) reply = bf_stanza_new_reply (iq, "result");
  g_autofree char *lower = cf_fold (name);
  g_autofree char *count = g_strdup_printf ("%u", room ? room->participants->len : 0);
  g_autofree char *max = g_strdup_printf ("%" G_GINT64_FORMAT, cf->max_participants);
  BfStanza *query = bf_stanza_add_child (reply, "query", BF_NS_DISCO_INFO);
  BfStanza *identity = bf_stanza_add_child (query, "identity", NULL);
  BfStanza *form;

  bf_stanza_set_attr (identity, "category", "conference");
  bf_stanza_set_attr (identity, "type", "audio-video");
  bf_stanza_set_attr (identity, "name", lower);
  for (guint i = 0; features[i]; i++)
    bf_stanza_set_attr (bf_stanza_add_child (query, "feature", NULL), "var", features[i]);
  /* XEP-0128: the count now (0 for a room nobody is in: it opens when
   * called); only to those who may join: how busy a room is, is theirs. */
  if (!with_count)
    {
      bf_module_send (cf->module, reply);
      return;
    }
  form = bf_stanza_add_child (query, "x", CF_NS_DATA);
  bf_stanza_set_attr (form, "type", "result");
  cf_form_add_field (form, "FORM_TYPE", "hidden", NULL, FORM_TYPE_ROOMINFO);
  cf_form_add_field (form, "muc#roominfo_occupants", NULL, "Participants", count);
  cf_form_add_field (form, "muc#roominfo_description", NULL, "Description",
             "A group call: call this address to join");
  cf_form_add_field (form, "urn:belfry:conference:max-participants", NULL, "Most participants", max);
  bf_module_send (cf->module, reply);
}
