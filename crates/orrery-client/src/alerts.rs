//! Alerting: alerts, the delivery history, silences, receivers and their test.

use crate::client::{Client, encode};
use crate::error::ClientError;
use crate::types::{
    AlertConfigInfo, AlertInfo, CreateSilenceRequest, NotificationInfo, ReceiverTestResult,
    SilenceInfo,
};
use reqwest::Method;

impl Client {
    /// A project's alerts, newest first; `state` is `firing` or `resolved` (or all).
    pub async fn list_alerts(
        &self,
        project: &str,
        state: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AlertInfo>, ClientError> {
        let mut path = format!("/api/v1/projects/{}/alerts?limit={limit}", encode(project));
        if let Some(state) = state {
            path.push_str(&format!("&state={}", encode(state)));
        }
        self.get_json(&path).await
    }

    /// Every notification of a project, newest first.
    pub async fn alert_history(
        &self,
        project: &str,
        limit: u32,
    ) -> Result<Vec<NotificationInfo>, ClientError> {
        self.get_json(&format!(
            "/api/v1/projects/{}/alerts/history?limit={limit}",
            encode(project)
        ))
        .await
    }

    /// A project's silences, newest first.
    pub async fn list_silences(&self, project: &str) -> Result<Vec<SilenceInfo>, ClientError> {
        self.get_json(&format!("/api/v1/projects/{}/silences", encode(project)))
            .await
    }

    /// Mutes a project's alerts matching `request.matchers` for `request.duration`.
    pub async fn create_silence(
        &self,
        project: &str,
        request: &CreateSilenceRequest,
    ) -> Result<SilenceInfo, ClientError> {
        let path = format!("/api/v1/projects/{}/silences", encode(project));
        self.send_json(self.request(Method::POST, &path).json(request), &path)
            .await
    }

    /// Ends a silence now.
    pub async fn expire_silence(&self, project: &str, id: i64) -> Result<(), ClientError> {
        let path = format!("/api/v1/projects/{}/silences/{id}/expire", encode(project));
        drop(self.send(self.request(Method::POST, &path), &path).await?);
        Ok(())
    }

    /// A project's receivers and alert routes.
    pub async fn list_receivers(&self, project: &str) -> Result<Vec<AlertConfigInfo>, ClientError> {
        self.get_json(&format!("/api/v1/projects/{}/receivers", encode(project)))
            .await
    }

    /// Sends a test message to a receiver and says what its service answered.
    pub async fn test_receiver(
        &self,
        project: &str,
        name: &str,
    ) -> Result<ReceiverTestResult, ClientError> {
        let path = format!(
            "/api/v1/projects/{}/receivers/{}/test",
            encode(project),
            encode(name)
        );
        self.send_json(self.request(Method::POST, &path), &path)
            .await
    }
}
