//! Which policy a scan uses: `--policy`, else `CRMGUARD_POLICY`, else the
//! nearest `crmguard.toml` from the working directory up to the repository's
//! root, else the built-in policy. This is the one place that decides.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::Policy;

/// The file name looked for.
pub const POLICY_FILE: &str = "crmguard.toml";

impl Policy {
    /// Finds and loads the policy for this process (see the module doc).
    pub fn discover(explicit: Option<&Path>) -> anyhow::Result<Policy> {
        let cwd = std::env::current_dir()
            .map_err(|e| anyhow::anyhow!("cannot read the working directory: {e}"))?;
        Policy::discover_from(explicit, std::env::var_os("CRMGUARD_POLICY"), &cwd)
    }

    fn discover_from(
        explicit: Option<&Path>,
        env: Option<OsString>,
        cwd: &Path,
    ) -> anyhow::Result<Policy> {
        if let Some(p) = explicit {
            return Policy::load(p);
        }
        if let Some(p) = env.filter(|p| !p.is_empty()) {
            let mut policy = Policy::load(Path::new(&p))
                .map_err(|e| e.context("the policy CRMGUARD_POLICY names"))?;
            policy.found_by = "CRMGUARD_POLICY";
            return Ok(policy);
        }
        match find_upwards(cwd) {
            Some(rel) => {
                let mut policy = Policy::load(&cwd.join(&rel))?;
                // Named as a person in `cwd` would reach it.
                policy.source = super::PolicySource::File(rel);
                policy.found_by = "discovered";
                Ok(policy)
            }
            None => Ok(Policy::builtin()),
        }
    }
}

/// The nearest `crmguard.toml` from `cwd` up to the repository's root, as a
/// path relative to `cwd` (`crmguard.toml`, `../crmguard.toml`). Outside a
/// repository only `cwd` itself is looked in: a stray file in a parent
/// folder (a shared /tmp, a home directory) must not become the policy.
fn find_upwards(cwd: &Path) -> Option<PathBuf> {
    let stop = repository_root(cwd);
    let mut rel = PathBuf::new();
    for dir in cwd.ancestors() {
        // Anything by that name is the policy, so that a directory or a
        // dangling symlink there is refused by the loader, not passed over
        // for a policy further up or the built-in one without a word.
        if std::fs::symlink_metadata(dir.join(POLICY_FILE)).is_ok() {
            return Some(rel.join(POLICY_FILE));
        }
        if stop.as_deref().is_none_or(|root| dir == root) {
            return None;
        }
        rel.push("..");
    }
    None
}

/// The repository `start` is in: the nearest directory, `start` included,
/// that holds a `.git` (a directory, or a file in a worktree or submodule).
pub fn repository_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_then_env_then_nearest_file_up_to_the_repository_root() {
        let top = tempfile::tempdir().unwrap();
        let repo = top.path().join("repo");
        let deep = repo.join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir(repo.join(".git")).unwrap();
        // Above the repository: never picked up.
        std::fs::write(top.path().join(POLICY_FILE), "[synthetic]\nallow = true\n").unwrap();
        let p = Policy::discover_from(None, None, &deep).unwrap();
        assert_eq!((p.found_by, p.synthetic.allow), ("built-in", false));

        std::fs::write(repo.join(POLICY_FILE), "version = 1\n").unwrap();
        let p = Policy::discover_from(None, None, &deep).unwrap();
        assert_eq!(p.found_by, "discovered");
        assert_eq!(
            p.source,
            super::super::PolicySource::File(PathBuf::from("../../crmguard.toml"))
        );

        let env = top.path().join(POLICY_FILE);
        let p = Policy::discover_from(None, Some(env.clone().into()), &deep).unwrap();
        assert_eq!((p.found_by, p.synthetic.allow), ("CRMGUARD_POLICY", true));
        let p =
            Policy::discover_from(Some(&repo.join(POLICY_FILE)), Some(env.into()), &deep).unwrap();
        assert_eq!(p.found_by, "--policy");
        let e = Policy::discover_from(None, Some("/nonexistent.toml".into()), &deep).unwrap_err();
        assert!(format!("{e:#}").contains("CRMGUARD_POLICY"), "{e:#}");
    }

    #[test]
    fn outside_a_repository_only_the_working_directory_counts() {
        let top = tempfile::tempdir().unwrap();
        let sub = top.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(top.path().join(POLICY_FILE), "version = 1\n").unwrap();
        assert_eq!(find_upwards(&sub), None);
        assert_eq!(find_upwards(top.path()), Some(PathBuf::from(POLICY_FILE)));
    }

    #[cfg(unix)]
    #[test]
    fn a_policy_that_cannot_be_read_is_refused_not_passed_over() {
        let top = tempfile::tempdir().unwrap();
        let deep = top.path().join("a");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir(top.path().join(".git")).unwrap();
        std::fs::write(top.path().join(POLICY_FILE), "[synthetic]\nallow = true\n").unwrap();
        // A folder, then a dangling symlink, where the nearest policy is.
        std::fs::create_dir(deep.join(POLICY_FILE)).unwrap();
        assert!(Policy::discover_from(None, None, &deep).is_err());
        std::fs::remove_dir(deep.join(POLICY_FILE)).unwrap();
        std::os::unix::fs::symlink("gone.toml", deep.join(POLICY_FILE)).unwrap();
        let e = Policy::discover_from(None, None, &deep).unwrap_err();
        assert!(format!("{e:#}").contains("crmguard.toml"), "{e:#}");
    }
}
