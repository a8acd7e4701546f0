//! `PreparedRequest`: an `HttpRequest` checked and turned into reqwest's types before
//! anything is sent.

use super::error::HttpError;
use orrery_proto::HttpRequest;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

/// A request that can be sent as it is.
#[derive(Debug)]
pub(super) struct PreparedRequest {
    pub(super) method: Method,
    pub(super) url: Url,
    pub(super) headers: HeaderMap,
    pub(super) body: Option<String>,
}

impl PreparedRequest {
    /// Checks the method, url and headers; the method is taken case-insensitively.
    pub(super) fn prepare(request: &HttpRequest) -> Result<Self, HttpError> {
        let method = Method::from_bytes(request.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| HttpError::InvalidMethod {
                method: request.method.clone(),
            })?;
        let url = Url::parse(&request.url).map_err(|error| HttpError::InvalidUrl {
            url: request.url.clone(),
            message: error.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HttpError::UnsupportedScheme {
                url: request.url.clone(),
            });
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            let invalid = |message: String| HttpError::InvalidHeader {
                name: name.clone(),
                message,
            };
            let header_name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| invalid("not a valid header name".to_owned()))?;
            let header_value = HeaderValue::from_str(value)
                .map_err(|_| invalid("the value has a control character".to_owned()))?;
            headers.append(header_name, header_value);
        }
        Ok(Self {
            method,
            url,
            headers,
            body: request.body.clone(),
        })
    }

    /// The url as shown in logs and errors, with any password hidden.
    pub(super) fn display_url(&self) -> String {
        if self.url.password().is_none() {
            return self.url.to_string();
        }
        let mut shown = self.url.clone();
        // Only a url that cannot have a password refuses one, and this one has one.
        let _ = shown.set_password(Some("***"));
        shown.to_string()
    }

    /// The request for `client`.
    pub(super) fn into_builder(self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        let builder = client.request(self.method, self.url).headers(self.headers);
        match self.body {
            Some(body) => builder.body(body),
            None => builder,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, url: &str, headers: &[(&str, &str)]) -> HttpRequest {
        HttpRequest {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: headers
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
            body: None,
            expect_status: Vec::new(),
            expect_json: None,
            max_body_bytes: 1024,
        }
    }

    fn prepare_error(request: HttpRequest) -> String {
        PreparedRequest::prepare(&request)
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn a_valid_request_is_prepared_with_repeated_headers_kept() {
        let prepared = PreparedRequest::prepare(&request(
            "post",
            "https://user:secret@example.test/a?b=c",
            &[
                ("X-Tag", "one"),
                ("x-tag", "two"),
                ("Accept", "application/json"),
            ],
        ))
        .expect("valid");
        assert_eq!(prepared.method, Method::POST);
        assert_eq!(prepared.headers.get_all("x-tag").iter().count(), 2);
        assert_eq!(
            prepared.display_url(),
            "https://user:***@example.test/a?b=c"
        );
    }

    #[test]
    fn bad_parts_are_refused_naming_them() {
        assert_eq!(
            prepare_error(request("GE T", "http://x/", &[])),
            r#"invalid HTTP method "GE T""#
        );
        assert_eq!(
            prepare_error(request("GET", "not a url", &[])),
            r#"invalid url "not a url": relative URL without a base"#
        );
        assert_eq!(
            prepare_error(request("GET", "ftp://x/", &[])),
            r#"url "ftp://x/" is not http or https"#
        );
        assert_eq!(
            prepare_error(request("GET", "http://x/", &[("bad name", "v")])),
            r#"invalid header "bad name": not a valid header name"#
        );
        assert_eq!(
            prepare_error(request("GET", "http://x/", &[("X-A", "line\nbreak")])),
            r#"invalid header "X-A": the value has a control character"#
        );
    }
}
