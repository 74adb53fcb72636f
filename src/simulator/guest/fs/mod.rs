//! The guest's NTFS-like filesystem.
//!
//! Windows paths are case-insensitive but case-preserving and accept both
//! `\` and `/`, so every path is parsed into a [`GuestPath`] whose lowercase
//! key indexes one flat map; the node keeps the spelling it was created with
//! for listings. A flat map (rather than a tree) keeps clone-on-VM-clone a
//! single `BTreeMap::clone` and makes "children of X" a range scan.
//!
//! File contents are [`FileBlob`]s: small ones in memory, large uploads in a
//! temp file that SIM-CORE streams to, shared by `Arc` so cloning a VM never
//! copies gigabytes (blobs are immutable; a write replaces the blob).

mod acl;
mod path;

pub use acl::{Ace, Acl};
pub use path::GuestPath;

use super::error::GuestError;
use crate::vsphere::wire::{
    FileAttributesInfo, GuestFileInfo, GuestFileSummary, GuestFileType, WindowsFileAttributesInfo,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

/// The content of a guest file.
#[derive(Clone, Debug)]
pub enum FileBlob {
    Memory(Bytes),
    /// A large upload kept on the host disk; removed when the last guest
    /// (or download) holding it is dropped.
    Disk {
        path: Arc<tempfile::TempPath>,
        size: u64,
    },
}

impl FileBlob {
    pub fn size(&self) -> u64 {
        match self {
            FileBlob::Memory(bytes) => bytes.len() as u64,
            FileBlob::Disk { size, .. } => *size,
        }
    }

    /// The whole content. Only the model's own small files (keys, answer
    /// files, tools.conf) are read this way; transfers stream instead.
    pub fn to_bytes(&self) -> std::io::Result<Bytes> {
        match self {
            FileBlob::Memory(bytes) => Ok(bytes.clone()),
            FileBlob::Disk { path, .. } => {
                let mut content = Vec::new();
                std::fs::File::open(path.as_ref() as &std::path::Path)?
                    .read_to_end(&mut content)?;
                Ok(Bytes::from(content))
            }
        }
    }
}

impl From<&str> for FileBlob {
    fn from(text: &str) -> Self {
        FileBlob::Memory(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<String> for FileBlob {
    fn from(text: String) -> Self {
        FileBlob::Memory(Bytes::from(text))
    }
}

#[derive(Clone, Debug)]
enum NodeKind {
    Directory,
    File(FileBlob),
}

#[derive(Clone, Debug)]
struct Node {
    path: GuestPath,
    kind: NodeKind,
    acl: Acl,
    hidden: bool,
    read_only: bool,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
}

impl Node {
    fn new(path: GuestPath, kind: NodeKind) -> Self {
        let now = Utc::now();
        Node {
            path,
            kind,
            acl: Acl::default(),
            hidden: false,
            read_only: false,
            created: now,
            modified: now,
        }
    }

    fn summary(&self) -> GuestFileSummary {
        let (file_type, size) = match &self.kind {
            NodeKind::Directory => (GuestFileType::Directory, 0),
            NodeKind::File(blob) => (GuestFileType::File, blob.size() as i64),
        };
        GuestFileSummary {
            filename: self.path.file_name().unwrap_or_default().to_string(),
            file_type,
            size,
        }
    }
}

/// The filesystem of one guest (drive `C:` and whatever else is created).
#[derive(Clone, Debug, Default)]
pub struct GuestFs {
    nodes: BTreeMap<String, Node>,
}

impl GuestFs {
    /// A filesystem with the given drive roots.
    pub fn with_drives(drives: &[char]) -> Self {
        let mut fs = GuestFs::default();
        for drive in drives {
            let root = GuestPath {
                drive: drive.to_ascii_uppercase(),
                parts: Vec::new(),
            };
            fs.nodes
                .insert(root.key(), Node::new(root, NodeKind::Directory));
        }
        fs
    }

    fn node(&self, path: &GuestPath) -> Option<&Node> {
        self.nodes.get(&path.key())
    }

    fn node_mut(&mut self, path: &GuestPath) -> Option<&mut Node> {
        self.nodes.get_mut(&path.key())
    }

    pub fn exists(&self, path: &GuestPath) -> bool {
        self.node(path).is_some()
    }

    pub fn is_dir(&self, path: &GuestPath) -> bool {
        matches!(self.node(path).map(|n| &n.kind), Some(NodeKind::Directory))
    }

    /// The parent must exist and be a directory before anything is created in it.
    fn require_parent_dir(&self, path: &GuestPath) -> Result<(), GuestError> {
        let Some(parent) = path.parent() else {
            return Err(GuestError::InvalidPath {
                path: path.display(),
                reason: "a drive root cannot be created or replaced".into(),
            });
        };
        self.require_dir(&parent)
    }

    pub fn write(
        &mut self,
        path: &GuestPath,
        blob: FileBlob,
        overwrite: bool,
    ) -> Result<(), GuestError> {
        self.require_parent_dir(path)?;
        match self.node_mut(path) {
            Some(node) => match node.kind {
                NodeKind::Directory => Err(GuestError::IsADirectory {
                    path: path.display(),
                }),
                NodeKind::File(_) if !overwrite => Err(GuestError::AlreadyExists {
                    path: path.display(),
                }),
                NodeKind::File(_) if node.read_only => Err(GuestError::InvalidArgument(format!(
                    "guest file {} is read-only",
                    path.display()
                ))),
                NodeKind::File(_) => {
                    node.kind = NodeKind::File(blob);
                    node.modified = Utc::now();
                    Ok(())
                }
            },
            None => {
                self.nodes
                    .insert(path.key(), Node::new(path.clone(), NodeKind::File(blob)));
                Ok(())
            }
        }
    }

    pub fn set_attributes(
        &mut self,
        path: &GuestPath,
        hidden: Option<bool>,
        read_only: Option<bool>,
    ) -> Result<(), GuestError> {
        let node = self.node_mut(path).ok_or_else(|| GuestError::NotFound {
            path: path.display(),
        })?;
        if let Some(hidden) = hidden {
            node.hidden = hidden;
        }
        if let Some(read_only) = read_only {
            node.read_only = read_only;
        }
        Ok(())
    }

    pub fn read(&self, path: &GuestPath) -> Result<FileBlob, GuestError> {
        match self.node(path).map(|n| &n.kind) {
            None => Err(GuestError::NotFound {
                path: path.display(),
            }),
            Some(NodeKind::Directory) => Err(GuestError::IsADirectory {
                path: path.display(),
            }),
            Some(NodeKind::File(blob)) => Ok(blob.clone()),
        }
    }

    /// The whole content of a small model-managed file.
    pub fn read_bytes(&self, path: &GuestPath) -> Result<Bytes, GuestError> {
        self.read(path)?.to_bytes().map_err(|e| GuestError::Io {
            path: path.display(),
            message: e.to_string(),
        })
    }

    pub fn stat(&self, path: &GuestPath) -> Result<GuestFileInfo, GuestError> {
        let node = self.node(path).ok_or_else(|| GuestError::NotFound {
            path: path.display(),
        })?;
        let summary = node.summary();
        let timestamp = |t: &DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        Ok(GuestFileInfo {
            file_type: summary.file_type,
            size: summary.size,
            attributes: FileAttributesInfo {
                last_modified: timestamp(&node.modified),
                last_accessed: timestamp(&node.modified),
                symlink_target: None,
                filesystem_family: "WINDOWS".into(),
                win_attributes: Some(WindowsFileAttributesInfo {
                    hidden: node.hidden,
                    read_only: node.read_only,
                    created: timestamp(&node.created),
                }),
            },
        })
    }

    /// `path` must exist and be a directory.
    fn require_dir(&self, path: &GuestPath) -> Result<(), GuestError> {
        match self.node(path).map(|n| &n.kind) {
            None => Err(GuestError::NotFound {
                path: path.display(),
            }),
            Some(NodeKind::File(_)) => Err(GuestError::NotADirectory {
                path: path.display(),
            }),
            Some(NodeKind::Directory) => Ok(()),
        }
    }

    /// Direct children of a directory, in case-insensitive name order.
    pub fn list(&self, dir: &GuestPath) -> Result<Vec<GuestFileSummary>, GuestError> {
        self.require_dir(dir)?;
        Ok(self
            .descendants(dir)
            .filter(|node| node.path.parts.len() == dir.parts.len() + 1)
            .map(Node::summary)
            .collect())
    }

    fn descendants<'a>(&'a self, dir: &GuestPath) -> impl Iterator<Item = &'a Node> + 'a {
        let mut prefix = dir.key();
        if !prefix.ends_with('\\') {
            prefix.push('\\');
        }
        self.nodes
            .range(prefix.clone()..)
            .take_while(move |(key, _)| key.starts_with(&prefix))
            .map(|(_, node)| node)
    }

    pub fn create_dir(&mut self, path: &GuestPath, parents: bool) -> Result<(), GuestError> {
        if let Some(node) = self.node(path) {
            return match node.kind {
                NodeKind::Directory if parents => Ok(()),
                _ => Err(GuestError::AlreadyExists {
                    path: path.display(),
                }),
            };
        }
        if parents {
            if let Some(parent) = path.parent() {
                if !self.exists(&parent) {
                    self.create_dir(&parent, true)?;
                }
            }
        }
        self.require_parent_dir(path)?;
        self.nodes
            .insert(path.key(), Node::new(path.clone(), NodeKind::Directory));
        Ok(())
    }

    pub fn delete_dir(&mut self, path: &GuestPath, recursive: bool) -> Result<(), GuestError> {
        self.require_dir(path)?;
        if path.is_root() {
            return Err(GuestError::InvalidPath {
                path: path.display(),
                reason: "a drive root cannot be deleted".into(),
            });
        }
        let children: Vec<String> = self.descendants(path).map(|n| n.path.key()).collect();
        if !children.is_empty() && !recursive {
            return Err(GuestError::DirectoryNotEmpty {
                path: path.display(),
            });
        }
        for key in children {
            self.nodes.remove(&key);
        }
        self.nodes.remove(&path.key());
        Ok(())
    }

    pub fn delete_file(&mut self, path: &GuestPath) -> Result<(), GuestError> {
        match self.node(path).map(|n| &n.kind) {
            None => Err(GuestError::NotFound {
                path: path.display(),
            }),
            Some(NodeKind::Directory) => Err(GuestError::IsADirectory {
                path: path.display(),
            }),
            Some(NodeKind::File(_)) => {
                self.nodes.remove(&path.key());
                Ok(())
            }
        }
    }

    pub fn acl(&self, path: &GuestPath) -> Result<&Acl, GuestError> {
        self.node(path)
            .map(|n| &n.acl)
            .ok_or_else(|| GuestError::NotFound {
                path: path.display(),
            })
    }

    pub fn acl_mut(&mut self, path: &GuestPath) -> Result<&mut Acl, GuestError> {
        self.node_mut(path)
            .map(|n| &mut n.acl)
            .ok_or_else(|| GuestError::NotFound {
                path: path.display(),
            })
    }
}
