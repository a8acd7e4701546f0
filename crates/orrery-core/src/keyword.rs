//! `keyword_enum!`: one way to declare an enum whose values are written as snake-case
//! keywords (in specs, in the store, in the API), with the list of them for messages.

/// An enum written as keywords: `as_str`, `from_name`, every value (`ALL`) and every
/// keyword (`NAMES`), serde in snake case, and `Default` when one is named.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)? }
        $(default $default:ident)?
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Every value as written.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The value as written.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// The value written `text`.
            pub fn from_name(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl $crate::keyword::Keyword for $name {
            const NAMES: &'static [&'static str] = &[$($text),+];

            fn from_name(text: &str) -> Option<Self> {
                $name::from_name(text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        $(
            impl Default for $name {
                fn default() -> Self {
                    $name::$default
                }
            }
        )?
    };
}

pub(crate) use keyword_enum;

/// A keyword enum as parsers read it.
pub trait Keyword: Sized {
    /// Every value as written.
    const NAMES: &'static [&'static str];

    /// The value written `text`.
    fn from_name(text: &str) -> Option<Self>;
}
