//! Error bodies as they travel on the wire: the vAPI standard error of
//! `/api` and the VI/JSON fault of `/sdk/vim25`. The client turns them into
//! typed errors; the simulator produces them. The status code for each
//! `error_type` follows VMware's OpenAPI description (CONTRACT.md, "Status
//! mapping"), not vapi-runtime's generic map.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorType {
    AlreadyExists,
    AlreadyInDesiredState,
    Canceled,
    ConcurrentChange,
    Error,
    FeatureInUse,
    InternalServerError,
    InvalidArgument,
    InvalidElementConfiguration,
    InvalidElementType,
    InvalidRequest,
    NotAllowedInCurrentState,
    NotFound,
    OperationNotFound,
    ResourceBusy,
    ResourceInUse,
    ResourceInaccessible,
    ServiceUnavailable,
    TimedOut,
    UnableToAllocateResource,
    Unauthenticated,
    Unauthorized,
    UnexpectedInput,
    Unsupported,
    UnverifiedPeer,
}

impl ErrorType {
    pub fn http_status(self) -> u16 {
        use ErrorType::*;
        match self {
            Unauthenticated => 401,
            Unauthorized => 403,
            NotFound | OperationNotFound => 404,
            ConcurrentChange => 409,
            Error
            | InternalServerError
            | ResourceBusy
            | ResourceInaccessible
            | TimedOut
            | UnableToAllocateResource => 500,
            ServiceUnavailable => 503,
            AlreadyExists
            | AlreadyInDesiredState
            | Canceled
            | FeatureInUse
            | InvalidArgument
            | InvalidElementConfiguration
            | InvalidElementType
            | InvalidRequest
            | NotAllowedInCurrentState
            | ResourceInUse
            | Unsupported
            | UnverifiedPeer
            | UnexpectedInput => 400,
        }
    }

    /// The name as it appears on the wire (`NOT_FOUND`).
    pub fn as_wire(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireMessage {
    pub id: String,
    pub default_message: String,
    #[serde(default)]
    pub args: Vec<String>,
}

/// `{"error_type":"NOT_FOUND","messages":[...],"data"?:{...}}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VapiErrorBody {
    pub error_type: ErrorType,
    #[serde(default)]
    pub messages: Vec<WireMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl VapiErrorBody {
    pub fn new(error_type: ErrorType, id: &str, message: impl Into<String>) -> Self {
        VapiErrorBody {
            error_type,
            messages: vec![WireMessage {
                id: id.to_string(),
                default_message: message.into(),
                args: vec![],
            }],
            data: None,
        }
    }

    /// The first message, which vCenter writes from the caller's point of view.
    pub fn message(&self) -> &str {
        self.messages
            .first()
            .map(|m| m.default_message.as_str())
            .unwrap_or("")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaultMessage {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub arg: Vec<serde_json::Value>,
    #[serde(default)]
    pub message: String,
}

/// `{"_typeName":"InvalidLogin","faultMessage":[{"key","arg","message"}]}`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViFaultBody {
    #[serde(rename = "_typeName")]
    pub type_name: String,
    #[serde(
        rename = "faultCause",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub fault_cause: Option<serde_json::Value>,
    #[serde(rename = "faultMessage", default)]
    pub fault_message: Vec<FaultMessage>,
}

impl ViFaultBody {
    pub fn new(type_name: &str, message: impl Into<String>) -> Self {
        ViFaultBody {
            type_name: type_name.to_string(),
            fault_cause: None,
            fault_message: vec![FaultMessage {
                key: String::new(),
                arg: vec![],
                message: message.into(),
            }],
        }
    }

    pub fn message(&self) -> String {
        self.fault_message
            .iter()
            .map(|m| m.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_mapping_follows_the_openapi_spec_not_vapi_runtime() {
        assert_eq!(ErrorType::ResourceBusy.http_status(), 500);
        assert_eq!(ErrorType::UnableToAllocateResource.http_status(), 500);
        assert_eq!(ErrorType::TimedOut.http_status(), 500);
        assert_eq!(ErrorType::AlreadyExists.http_status(), 400);
        assert_eq!(ErrorType::NotFound.as_wire(), "NOT_FOUND");
    }
}
