//! Answers: domain values as the wire spells them, one module per service.

pub mod decision;
pub mod registry;
pub(crate) mod rights;
pub(crate) mod subject;

use crate::{domain::policy::Contact, proto};

fn contact(contact: &Contact) -> proto::Contact {
    proto::Contact {
        name: contact.name.clone().unwrap_or_default(),
        email: contact.email.clone().unwrap_or_default(),
        phone: contact.phone.clone().unwrap_or_default(),
        address: contact.address.clone().unwrap_or_default(),
    }
}
