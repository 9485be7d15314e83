/* belfry — Jingle Message Initiation (XEP-0353): the <message/>s that ring
 * every device of the callee before the Jingle session proper.
 *
 * One message carries one of propose, ringing, proceed, accept (the older
 * name of proceed, still in the schema), reject, retract or finish, each
 * with the id that becomes the Jingle sid. */
#pragma once

#include "jingle.h"

G_BEGIN_DECLS

#define BF_NS_JINGLE_MESSAGE "urn:xmpp:jingle-message:0"
#define BF_NS_HINTS          "urn:xmpp:hints"
#define BF_NS_RECEIPTS       "urn:xmpp:receipts"

#define BF_JMI_MAX_DESCRIPTIONS 16

typedef enum {
  BF_JMI_PROPOSE,
  BF_JMI_RINGING,
  BF_JMI_PROCEED,
  BF_JMI_ACCEPT,
  BF_JMI_REJECT,
  BF_JMI_RETRACT,
  BF_JMI_FINISH,
} BfJmiType;

const char *bf_jmi_type_to_string (BfJmiType type);

/* A <description/> of a propose: its namespace and 'media' (may be NULL). */
typedef struct {
  char *ns;
  char *media;
} BfJmiDescription;

typedef struct {
  BfJmiType type;
  char *id;
  GPtrArray *descriptions;   /* BfJmiDescription: propose only (§3.1: at least one) */
  BfJingleReason *reason;    /* reject, retract, finish: NULL when absent */
  gboolean tie_break;        /* reject, retract: <tie-break/> (§4.1) */
  char *migrated_to;         /* finish: <migrated to=/> (§4.2), NULL when absent */
  /* The message asks for a XEP-0184 receipt (<request xmlns='urn:xmpp:
   * receipts'/>): Conversations puts one on its proposals and takes the
   * receipt (<received id='jm-propose-<sid>'/>) as "a device rings"
   * (generator/MessageGenerator.java sessionProposal(), parser/
   * MessageParser.java). */
  gboolean receipt_request;
} BfJmi;

BfJmi *bf_jmi_new (BfJmiType type, const char *id);
void bf_jmi_free (BfJmi *jmi);
BfJmiDescription *bf_jmi_add_description (BfJmi *jmi, const char *ns, const char *media);
BfJingleReason *bf_jmi_set_reason (BfJmi *jmi, BfJingleReasonCondition condition,
                                   const char *text);
gboolean bf_jmi_equal (const BfJmi *a, const BfJmi *b);

/* Parses the JMI element of a <message/>.  Fails with BF_JINGLE_ERROR
 * BAD_REQUEST when there is none or it is malformed. */
BfJmi *bf_jmi_parse (const BfStanza *message, GError **error);

/* <message type='chat'/> with the element and the <store/> hint that §3
 * requires, and a XEP-0184 <request/> when jmi->receipt_request; @from,
 * @to and @id may be NULL. */
BfStanza *bf_jmi_build (const BfJmi *jmi, const char *from, const char *to, const char *id);

/* The XEP-0184 receipt for message @received_id: <message type='chat'
 * id=@id><received xmlns='urn:xmpp:receipts' id=@received_id/><store/>
 * </message>, as Conversations sends it for a propose
 * (MessageGenerator.received()); @from, @to and @id may be NULL. */
BfStanza *bf_jmi_build_receipt (const char *from, const char *to, const char *id,
                                const char *received_id);

/* The id of a XEP-0184 <received/> in @message, or NULL. */
const char *bf_jmi_receipt_id (const BfStanza *message);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BfJmi, bf_jmi_free)

G_END_DECLS
