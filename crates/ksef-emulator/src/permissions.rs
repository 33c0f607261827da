//! Who may do what in a context, as KSeF decides at login: the context's owner (a certificate of the context's
//! own NIP, or a person TEST links to that NIP) holds every permission; anyone else holds what was granted to
//! them in that context directly, to the company they act for (an entity grant), or through a company that
//! may delegate (an indirect grant). Nothing granted means no login (status 415).

use std::collections::BTreeSet;

use ksef_wire::{ContextIdentifier, ContextIdentifierType, TokenPermission};

use crate::state::AppState;
use crate::store::SubjectKey;

/// Why a login in a context blocked by test data ends with status 480.
pub(crate) const BLOCKED_DETAIL: &str =
    "Podejrzenie incydentu bezpieczeństwa. Skontaktuj się z Ministerstwem Finansów przez formularz zgłoszeniowy.";

/// What the owner of a context may do (all but enforcement, which takes an enforcement role).
pub(crate) fn owner_permissions() -> Vec<String> {
    TokenPermission::ALL.iter().filter(|p| **p != TokenPermission::EnforcementOperations).map(|p| p.as_str().to_owned()).collect()
}

/// The NIP a context stands for (an internal identifier's first ten digits).
pub(crate) fn context_nip(context: &ContextIdentifier) -> Option<&str> {
    match context.kind {
        ContextIdentifierType::Nip => Some(&context.value),
        ContextIdentifierType::InternalId => context.value.get(..10),
        ContextIdentifierType::NipVatUe | ContextIdentifierType::PeppolId => None,
    }
}

/// The permissions `subject` holds in `context`, sorted; empty when it may not log in there.
pub(crate) async fn in_context(state: &AppState, subject: &SubjectKey, context: &ContextIdentifier) -> Result<Vec<String>, sqlx::Error> {
    let nip = context_nip(context);
    let mut held: BTreeSet<String> = BTreeSet::new();
    // The subject, and the companies it acts for as their person.
    let mut acting_as: Vec<SubjectKey> = vec![subject.clone()];
    let mut owner = subject.0 == "Nip" && Some(subject.1.as_str()) == nip;
    let mut bailiff = false;
    if subject.0 == "Pesel" {
        for person in state.db.test_persons_by_pesel(&subject.1).await? {
            if Some(person.nip.as_str()) == nip {
                owner = true;
                bailiff |= person.is_bailiff;
            }
            acting_as.push(("Nip".to_owned(), person.nip));
        }
    }
    if owner {
        held.extend(owner_permissions());
        let enforcement = match nip {
            Some(nip) => state.db.test_subject_type(nip).await?.is_some_and(|t| t == "EnforcementAuthority"),
            None => false,
        };
        if bailiff || enforcement {
            held.insert(TokenPermission::EnforcementOperations.as_str().to_owned());
        }
    }
    for grant in state.db.permissions_of(&acting_as).await? {
        let applies = match grant.kind.as_str() {
            "indirect" => {
                let targets_context = match &grant.target {
                    Some((kind, _)) if kind == "AllPartners" => true,
                    Some((_, Some(value))) => *value == context.value,
                    _ => false,
                };
                // The intermediary must itself hold a delegable grant of that permission in this context.
                targets_context
                    && state.db.entity_grants_to(&grant.context_value).await?.iter().any(|e| {
                        e.context_value == context.value && e.can_delegate && e.permission == grant.permission
                    })
            }
            _ => grant.context_value == context.value,
        };
        if applies && TokenPermission::parse(&grant.permission).is_some() {
            held.insert(grant.permission);
        }
    }
    Ok(held.into_iter().collect())
}
