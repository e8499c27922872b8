//! `realsig now`: which real time signing would use, from where, and the process clock's offset.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use realsig::clock::chain::process_offset_nanos;
use realsig::clock::human_duration;
use realsig::{Reading, TimeSource};

use crate::args::ClockArgs;

#[derive(Args)]
pub struct NowArgs {
    #[command(flatten)]
    pub clock: ClockArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = NowFormat::Text)]
    format: NowFormat,
}

#[derive(Clone, Copy, ValueEnum)]
enum NowFormat {
    /// Lines for people.
    Text,
    /// A JSON object: unix_ms, time, source, uncertainty_ms, trusted, offset_ms (process
    /// clock minus real time), sources (each source's reading or error).
    Json,
}

/// `realsig now`: every source's reading; the first good one is the chain's choice.
pub fn now(args: &NowArgs) -> Result<Vec<u8>, String> {
    let chain = args.clock.chain()?;
    let survey = chain.survey();
    let chosen = survey.iter().find_map(|(_, r)| r.as_ref().ok());
    let offset_nanos = chosen.map(|r| process_offset_nanos(r.time));
    let text = match args.format {
        NowFormat::Json => {
            let sources: Vec<_> = survey
                .iter()
                .map(|(name, result)| match result {
                    Ok(r) => reading_json(name, r),
                    Err(e) => serde_json::json!({ "name": name, "error": e.reason() }),
                })
                .collect();
            let mut value = match chosen {
                Some(r) => reading_json(&r.source, r),
                None => serde_json::json!({}),
            };
            value["offset_ms"] = offset_nanos.map(|n| (n / 1_000_000) as i64).into();
            value["sources"] = sources.into();
            let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
            s.push('\n');
            s
        }
        NowFormat::Text => {
            let mut s = String::new();
            if let (Some(r), Some(offset)) = (chosen, offset_nanos) {
                s += &format!("{}  from {} ({})\n", rfc3339(r.time), r.source, uncertainty_text(r));
                let size = Duration::from_nanos(u64::try_from(offset.unsigned_abs()).unwrap_or(u64::MAX));
                let side = if offset < 0 { "behind" } else { "ahead of" };
                s += &format!("process clock: {} {side} it\n", human_duration(size));
            }
            s += "sources, in order:\n";
            for (name, result) in &survey {
                match result {
                    Ok(r) => s += &format!("  {name}: {} ({})\n", rfc3339(r.time), uncertainty_text(r)),
                    Err(e) => s += &format!("  {name}: error: {}\n", e.reason()),
                }
            }
            s
        }
    };
    match chosen {
        Some(_) => Ok(text.into_bytes()),
        None => {
            // The survey still helps: print it, then fail.
            crate::out::err_line(text.trim_end_matches('\n'));
            let tried: Vec<String> = survey
                .iter()
                .filter_map(|(name, r)| r.as_ref().err().map(|e| format!("{name}: {}", e.reason())))
                .collect();
            Err(format!("no source has a trustworthy time (tried {})", tried.join("; ")))
        }
    }
}

fn reading_json(name: &str, r: &Reading) -> serde_json::Value {
    let since = r.time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    serde_json::json!({
        "name": name,
        "source": &*r.source,
        "unix_ms": since.as_millis() as u64,
        "time": rfc3339(r.time),
        "uncertainty_ms": r.uncertainty.map(|u| u.as_secs_f64() * 1e3),
        "trusted": r.trusted,
    })
}

fn uncertainty_text(r: &Reading) -> String {
    let bound = match r.uncertainty {
        Some(u) => format!("± {:.3} ms", u.as_secs_f64() * 1e3),
        None => "uncertainty not bounded by the source".into(),
    };
    if r.trusted {
        bound
    } else {
        format!("{bound}; untrusted: the process clock")
    }
}

pub fn rfc3339(t: SystemTime) -> String {
    realsig::clock::rfc3339(t)
}
