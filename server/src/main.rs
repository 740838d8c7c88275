//! `doorstep-server`: the command line of Doorstep's sync server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use doorstep_server::{
    accounts,
    directory::{self, Role, UnitKind},
    import,
    storage::ServerStore,
};

/// mimalloc rather than glibc's allocator: a merge allocates and frees many small objects
/// (Automerge's ops and columns, SQLite's rows), and glibc's malloc and free were a quarter of
/// the time of a street fixture's build (docs/perf.md, "The server's allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "doorstep-server",
    version,
    about = "Doorstep sync server / 到家同步服务器"
)]
struct Cli {
    /// Log format: JSON lines for machines, text for people.
    #[arg(long, value_enum, default_value_t = LogFormat::Json, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

#[derive(Subcommand)]
enum Command {
    /// Serve phones and the dashboard from the data in DIR (SQLite, created if missing), or
    /// from PostgreSQL with --database, DIR then holding this process's replica.
    Serve {
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Share the data with other server processes in this PostgreSQL database (DIR then
        /// holds this process's replica); also DOORSTEP_DATABASE / 多个服务进程共用的 PostgreSQL 数据库
        #[arg(long, value_name = "URL")]
        database: Option<String>,
        /// Address and port to listen on (port 0 picks a free one and prints it).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Sync requests one device may make at once / 单台设备可连续发起的同步请求数
        #[arg(long, value_name = "N", default_value_t = 20.0)]
        device_burst: f64,
        /// Sync requests one device may make per second, sustained / 单台设备每秒同步请求数
        #[arg(long, value_name = "N", default_value_t = 10.0)]
        device_rate: f64,
        /// Serve HTTPS with this certificate chain (PEM); needs --tls-key / 证书链（PEM），启用 HTTPS
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM) / 证书私钥（PEM）
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Documents kept in memory, about 25-45 KB each / 内存中缓存的文档数
        #[arg(long, value_name = "N", default_value_t = doorstep_server::storage::DOC_CACHE)]
        doc_cache: usize,
        /// A reverse proxy serves HTTPS in front of this server: mark the dashboard's cookies
        /// Secure (they are with --tls-cert; never on what a request's Host header says).
        #[arg(long)]
        behind_proxy: bool,
        /// Seconds a client has to send a request's headers / 请求头须在几秒内收齐
        #[arg(long, value_name = "SECS", default_value_t = 10)]
        header_timeout: u64,
        /// Seconds a request (its body included) has to be read and answered / 单个请求的时限（秒）
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        request_timeout: u64,
        /// Connections open at once; more wait until one closes / 同时打开的连接数上限
        #[arg(long, value_name = "N", default_value_t = 1024)]
        max_connections: usize,
        /// Days a done task or closed appeal stays on the phones once nothing happens to it
        /// (they stay on the server; phones use the same age) / 已办结记录在手机上保留的天数
        #[arg(long, value_name = "DAYS", default_value_t = 60)]
        purge_days: u32,
        /// Keep where photos were taken (their EXIF metadata, GPS included); by default phones
        /// drop it and the server refuses photos that carry it / 保留照片的拍摄位置信息
        #[arg(long)]
        keep_photo_location: bool,
        /// Days a change keeps its bytes in the change log; a phone away longer gets whole
        /// documents instead (0: for ever) / 变更日志保留变更内容的天数
        #[arg(long, value_name = "DAYS", default_value_t = doorstep_server::trim::KEEP_DAYS)]
        log_keep_days: u32,
    },
    /// The directory and devices / 管理目录与设备 (works on DIR directly, also while serving).
    Admin {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// Share the data with other server processes in this PostgreSQL database (DIR then
        /// holds this process's replica); also DOORSTEP_DATABASE / 多个服务进程共用的 PostgreSQL 数据库
        #[arg(long, value_name = "URL")]
        database: Option<String>,
        /// Print results as JSON (for scripts).
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Admin,
    },
    /// A demonstration: a street of 6 grids x 500 households, phones through an offline day and
    /// their sync, then keeps serving / 演示
    Demo {
        /// The data directory (default: a new temporary one).
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Households per grid.
        #[arg(long, default_value_t = 500)]
        households: usize,
        /// Stop after the simulated day instead of serving on.
        #[arg(long)]
        no_serve: bool,
    },
    /// A street at a real street's size for measuring, built with the project's own code into
    /// an empty DIR (default 110 grids x 500 households, half a year of history); then serve it
    /// with `serve --data DIR` / 生成街道规模数据
    Street {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[arg(long, default_value_t = 110)]
        grids: usize,
        /// Households per grid.
        #[arg(long, default_value_t = 500)]
        households: usize,
        /// Weeks of history before today.
        #[arg(long, default_value_t = 26)]
        weeks: i64,
    },
    /// A consistent copy of the database, taken while the server runs / 在线备份
    Backup {
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The backup file to write (must not exist).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Restore a backup into a data directory that holds no database / 从备份恢复
    Restore {
        /// The backup file.
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum Admin {
    /// Add a street, community, grid or liaison group / 添加街道、社区、网格或联户组
    AddUnit {
        #[arg(long, value_parser = parse_kind)]
        kind: UnitKind,
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        parent: Option<String>,
    },
    /// Add a person with a role / 添加人员
    AddPerson {
        #[arg(long)]
        name: String,
        /// grid-worker, liaison-lead, supervisor or administrator
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The unit(s) the person works in (repeat for several).
        #[arg(long = "unit")]
        units: Vec<String>,
    },
    /// Move a person to other units (same role); their phones follow at the next sync / 调整人员所属单位
    SetUnits {
        #[arg(long)]
        person: String,
        /// The unit(s) the person works in from now on (repeat for several).
        #[arg(long = "unit")]
        units: Vec<String>,
    },
    /// Give a person another role, once their phones are handed over (they deliver everything
    /// under the old role, then erase themselves); the person enrolls again / 调整人员角色
    SetRole {
        #[arg(long)]
        person: String,
        /// grid-worker, liaison-lead, supervisor or administrator
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The unit(s) the person works in, in the new role (repeat for several).
        #[arg(long = "unit")]
        units: Vec<String>,
    },
    /// Enroll a device for a person: prints a one-time code and its QR code / 登记设备
    Enroll {
        #[arg(long)]
        person: String,
        #[arg(long, default_value = "手机 phone")]
        label: String,
        /// The address phones reach this server at, put into the QR code.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server_url: String,
    },
    /// List units / 列出单位
    Units,
    /// List people / 列出人员
    People,
    /// List devices / 列出设备
    Devices,
    /// How many photos the server holds, and their size / 照片数量与大小
    Photos,
    /// Trims the change log (as `serve` does every hour), saves each document as one snapshot
    /// and gives the freed space back to the disk; best while the server is stopped (the file
    /// is held for the while) / 压缩数据库
    Compact {
        /// Days a change keeps its bytes in the change log (as `serve --log-keep-days`)
        #[arg(long, value_name = "DAYS", default_value_t = doorstep_server::trim::KEEP_DAYS)]
        log_keep_days: u32,
    },
    /// A device reported lost: its token is refused from its next request and the phone erases
    /// itself, with what it had not delivered / 挂失停用设备
    Revoke {
        #[arg(long)]
        device: String,
    },
    /// Hand a device over: at its next sync it delivers everything it holds, then erases itself
    /// (nothing is lost) / 移交设备
    HandOver {
        #[arg(long)]
        device: String,
    },
    /// Drop the read model and derive it again from the documents / 由文档重建查询表
    RebuildReadModel,
    /// Set the dashboard login and password of a supervisor or administrator / 设置管理台登录账户
    ///
    /// The password is read from standard input (one line), so that it stays out of the shell's
    /// history and the process list.
    SetPassword {
        #[arg(long)]
        person: String,
        #[arg(long)]
        login: String,
    },
    /// Set up a visit plan for a community or street, as one of its supervisors: the visit
    /// interval by attention tag (`--tag 独居老人=7`, or the code `elderly_alone=7`), for everyone
    /// else (`--default-days 90`), the questions a visit asks, and for a campaign its dates
    /// (China time) / 新建走访计划
    AddPlan {
        /// The supervisor the plan is set by (a person id).
        #[arg(long = "as")]
        by: String,
        #[arg(long)]
        unit: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        default_days: Option<u32>,
        #[arg(long)]
        tag: Vec<String>,
        #[arg(long)]
        question: Vec<String>,
        /// YYYY-MM-DD
        #[arg(long)]
        starts: Option<String>,
        /// YYYY-MM-DD (the plan is in force until this day begins)
        #[arg(long)]
        ends: Option<String>,
        /// The share of the plan's visits to be done on time each month, in percent.
        #[arg(long)]
        goal: Option<u32>,
    },
    /// Change a visit plan, as a supervisor of its unit: intervals (`--tag 低保=15`, or
    /// `--tag 低保=none` to clear), questions added or withdrawn, the plan withdrawn / 修改走访计划
    SetPlan {
        #[arg(long = "as")]
        by: String,
        #[arg(long)]
        plan: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        default_days: Option<u32>,
        #[arg(long)]
        tag: Vec<String>,
        #[arg(long)]
        add_question: Vec<String>,
        #[arg(long)]
        retire_question: Vec<String>,
        /// Withdraw the plan (it stays, no longer in force).
        #[arg(long)]
        retire: bool,
        #[arg(long)]
        goal: Option<u32>,
    },
    /// The visit plans the server holds / 走访计划
    Plans,
    /// Import a household roll (CSV, UTF-8) into a grid: all rows or none / 导入户籍花名册
    ImportHouseholds {
        #[arg(long)]
        grid: String,
        #[arg(long)]
        file: PathBuf,
    },
    /// Move a household, with its help tasks and appeals, to another grid (and liaison group):
    /// the phones of the grid it left forget it at their next sync / 住户迁至其他网格
    MoveHousehold {
        #[arg(long)]
        household: String,
        #[arg(long)]
        grid: String,
        /// A liaison group of the new grid (none: the household is in no group).
        #[arg(long)]
        group: Option<String>,
    },
    /// Merge grid `from` into grid `into`: its liaison groups and households (with their tasks
    /// and appeals) move; `from` is left empty / 合并网格
    MergeGrids {
        #[arg(long)]
        from: String,
        #[arg(long)]
        into: String,
    },
    /// Split a grid: a new grid under the same community takes the households of the given
    /// buildings (and the liaison groups wholly among them) / 拆分网格
    SplitGrid {
        #[arg(long)]
        grid: String,
        /// The new grid's id and name.
        #[arg(long)]
        new: String,
        #[arg(long)]
        name: String,
        /// Buildings (楼栋) whose households move (repeat or comma-separate).
        #[arg(long = "building", value_delimiter = ',')]
        buildings: Vec<String>,
        /// Liaison groups (联户组) that move with their households (repeat or comma-separate).
        #[arg(long = "group", value_delimiter = ',')]
        groups: Vec<String>,
    },
    /// Retire a liaison group: its households (and their tasks) go to another group of the same
    /// grid or to none, its leads lose it, and the group is removed / 撤销联户组
    RetireGroup {
        #[arg(long)]
        group: String,
        #[arg(long)]
        into: Option<String>,
    },
    /// The directory's history: who changed what, and when / 变更记录
    History,
}

/// Who the command line's changes are recorded as.
const CLI: &str = "命令行 command line";

fn parse_kind(s: &str) -> Result<UnitKind, String> {
    UnitKind::from_code(s).ok_or_else(|| "street, community, grid or group".into())
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_code(s)
        .ok_or_else(|| "grid-worker, liaison-lead, supervisor or administrator".into())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo talks to a person on stdout: its request logs would drown that out.
    let default_level = match cli.command {
        Command::Demo { .. } | Command::Street { .. } => "warn",
        _ => "info",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("DOORSTEP_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    let result = match cli.command {
        Command::Serve {
            data,
            listen,
            device_burst,
            device_rate,
            tls_cert,
            tls_key,
            doc_cache,
            database,
            behind_proxy,
            header_timeout,
            request_timeout,
            max_connections,
            purge_days,
            keep_photo_location,
            log_keep_days,
        } => runtime().and_then(|rt| {
            if !(device_burst >= 1.0 && device_rate > 0.0) {
                return Err(
                    "--device-burst must be at least 1 and --device-rate above 0 / 限流参数无效"
                        .into(),
                );
            }
            let limit = doorstep_server::DeviceLimit {
                burst: device_burst,
                per_sec: device_rate,
            };
            let tls = tls_cert
                .zip(tls_key)
                .map(|(cert, key)| doorstep_server::tls::TlsFiles { cert, key });
            let options = doorstep_server::ServeOptions {
                limit,
                tls,
                doc_cache: doc_cache.max(1),
                database: database_url(database),
                behind_proxy,
                limits: doorstep_server::listen::Limits {
                    header_timeout: std::time::Duration::from_secs(header_timeout.max(1)),
                    request_timeout: std::time::Duration::from_secs(request_timeout.max(1)),
                    max_connections: max_connections.max(1),
                },
                purge_days: Some(purge_days),
                keep_photo_location,
                log_keep_days,
            };
            rt.block_on(doorstep_server::serve(data, listen, options))
                .map_err(|e| e.to_string())
        }),
        Command::Admin {
            data,
            json,
            action,
            database,
        } => admin(data, database_url(database), json, action),
        Command::Backup { data, out } => doorstep_server::backup::backup(&data, &out)
            .map(|r| print_json(&r))
            .map_err(|e| e.to_string()),
        Command::Restore { from, data } => doorstep_server::backup::restore(&from, &data)
            .map(|r| print_json(&r))
            .map_err(|e| e.to_string()),
        Command::Street {
            data,
            grids,
            households,
            weeks,
        } => {
            let spec = doorstep_server::fixture::StreetSpec {
                grids,
                households,
                weeks,
                ..Default::default()
            };
            doorstep_server::fixture::run(&data, &spec).map_err(|e| e.to_string())
        }
        Command::Demo {
            data,
            listen,
            households,
            no_serve,
        } => runtime().and_then(|rt| {
            rt.block_on(doorstep_server::demo::run(
                data, listen, households, !no_serve,
            ))
            .map_err(|e| e.to_string())
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "failed");
            eprintln!("错误 error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Threads for database work (see `runtime`).
const BLOCKING_THREADS: usize = 16;

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Database work runs on the blocking pool and queues for the one store; more threads
        // than this only wait, each holding a stack and an allocator arena (with tokio's default
        // of 512, a soak of 500 phones grew ~280 threads and the memory kept growing).
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}

/// `独居老人=7`, `elderly_alone=7` or `低保=none`: a tag and its interval (none: cleared).
fn parse_tag_days(
    s: &str,
) -> Result<(doorstep_core::domain::household::AttentionTag, Option<u32>), String> {
    use doorstep_core::domain::household::AttentionTag;
    let (tag, days) = s
        .split_once('=')
        .ok_or_else(|| format!("{s}: expected TAG=DAYS / 格式应为 标签=天数"))?;
    let tag = AttentionTag::ALL
        .iter()
        .copied()
        .find(|t| t.code() == tag.trim() || t.label_zh() == tag.trim())
        .ok_or_else(|| format!("{tag}: no such attention tag / 无此标签"))?;
    let days = match days.trim() {
        "none" | "无" => None,
        d => Some(
            d.parse::<u32>()
                .map_err(|_| format!("{d}: not a number of days / 天数不对"))?,
        ),
    };
    Ok((tag, days))
}

fn parse_date(s: &str) -> Result<i64, String> {
    doorstep_core::time::parse_china_date(s)
        .ok_or_else(|| format!("{s}: expected a date YYYY-MM-DD / 日期格式应为 年-月-日"))
}

/// A plan as the command line prints it.
fn plan_json(p: &doorstep_core::domain::plan::VisitPlan) -> serde_json::Value {
    serde_json::json!({
        "id": p.id,
        "unit": p.unit,
        "name": p.name,
        "default_days": p.default_days,
        "intervals": p.intervals.iter().map(|(t, d)| (t.code().to_string(), serde_json::json!(d))).collect::<serde_json::Map<_, _>>(),
        "questions": p.questions().iter().map(|q| serde_json::json!({"id": q.id, "text": q.text})).collect::<Vec<_>>(),
        "starts_at": p.starts_at,
        "ends_at": p.ends_at,
        "retired": p.retired,
        "goal": p.goal_pct,
        "version": p.version,
        "created_by": p.created_by.id,
    })
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// `--database`, or else the environment's `DOORSTEP_DATABASE` (empty: none).
fn database_url(arg: Option<String>) -> Option<String> {
    arg.or_else(|| std::env::var("DOORSTEP_DATABASE").ok())
        .filter(|u| !u.trim().is_empty())
}

fn admin(data: PathBuf, database: Option<String>, json: bool, action: Admin) -> Result<(), String> {
    if database.is_none()
        && !data.join(doorstep_server::storage::DB_FILE).exists()
        && !matches!(action, Admin::AddUnit { .. })
    {
        return Err(format!(
            "no Doorstep data in {} (start with admin add-unit, or serve) / 该目录没有数据",
            data.display()
        ));
    }
    let store = ServerStore::open_admin(&data, database.as_deref()).map_err(|e| e.to_string())?;
    let mut s = store.lock();
    let e = |e: directory::DirectoryError| e.to_string();
    match action {
        Admin::AddUnit {
            kind,
            id,
            name,
            parent,
        } => {
            let u = directory::add_unit(s.db(), kind, &id, &name, parent.as_deref()).map_err(e)?;
            if json {
                print_json(&u);
            } else {
                println!(
                    "已添加{} added {}: {} ({})",
                    kind.label_zh(),
                    kind.code(),
                    u.name,
                    u.id
                );
            }
        }
        Admin::AddPerson { name, role, units } => {
            let p = directory::add_person(s.db(), &name, role, &units).map_err(e)?;
            if json {
                print_json(&p);
            } else {
                println!(
                    "已添加{} added {}: {}  id {}",
                    role.label_zh(),
                    role.code(),
                    p.name,
                    p.id
                );
            }
        }
        Admin::SetUnits { person, units } => {
            let p = directory::set_units(s.db(), &person, &units, CLI).map_err(e)?;
            if json {
                print_json(&p);
            } else {
                println!(
                    "已调整 {} 的所属单位 units of {} now: {}",
                    p.name,
                    p.name,
                    p.units.join(", ")
                );
            }
        }
        Admin::SetRole {
            person,
            role,
            units,
        } => {
            let p = directory::set_role(s.db(), &person, role, &units, CLI).map_err(e)?;
            if json {
                print_json(&p);
            } else {
                println!(
                    "{} 现为{} is now {} in {}; 请为其重新登记手机 enroll their phone again",
                    p.name,
                    role.label_zh(),
                    role.code(),
                    p.units.join(", ")
                );
            }
        }
        Admin::Enroll {
            person,
            label,
            server_url,
        } => {
            let en = directory::enroll(s.db(), &person, &label).map_err(e)?;
            let payload = format!("doorstep://enroll?server={server_url}&code={}", en.code);
            if json {
                print_json(&serde_json::json!({
                    "device_id": en.device_id,
                    "code": en.code,
                    "expires_at": en.expires_at,
                    "qr": payload,
                }));
            } else {
                println!("设备登记码 enrollment code: {}", en.code);
                println!("（仅显示一次，7 天内有效 / shown once, valid for 7 days）");
                println!("device id: {}", en.device_id);
                if let Ok(qr) = qrcode::QrCode::new(payload.as_bytes()) {
                    println!(
                        "{}",
                        qr.render::<qrcode::render::unicode::Dense1x2>()
                            .quiet_zone(true)
                            .build()
                    );
                }
                println!("{payload}");
            }
        }
        Admin::Units => {
            let units = directory::units(s.db()).map_err(e)?;
            if json {
                print_json(&units);
            } else {
                for u in units {
                    println!(
                        "{:<10} {:<24} {:<16} {}",
                        u.kind.code(),
                        u.id,
                        u.name,
                        u.parent.unwrap_or_default()
                    );
                }
            }
        }
        Admin::People => {
            let people = directory::people(s.db()).map_err(e)?;
            if json {
                print_json(&people);
            } else {
                for p in people {
                    println!(
                        "{}  {:<14} {:<8} {}",
                        p.id,
                        p.role.code(),
                        p.name,
                        p.units.join(",")
                    );
                }
            }
        }
        Admin::Photos => {
            let blobs = doorstep_server::photos::PhotoStore::new(&data, s.is_shared(), false);
            let (n, bytes) = blobs.count(s.db()).map_err(|e| e.to_string())?;
            if json {
                print_json(&serde_json::json!({"photos": n, "bytes": bytes}));
            } else {
                println!("照片 photos: {n} ({:.1} MB)", bytes as f64 / 1_048_576.0);
            }
        }
        Admin::Compact { log_keep_days } => {
            let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            let before = size(&store.path);
            let trimmed = match doorstep_server::trim::cutoff(directory::now_ms(), log_keep_days) {
                Some(cutoff) => doorstep_server::trim::all(|| {
                    doorstep_server::trim::step(s.connection_mut(), cutoff)
                })
                .map_err(|e| e.to_string())?,
                None => doorstep_server::trim::Trimmed::default(),
            };
            s.compact().map_err(|e| e.to_string())?;
            let after = size(&store.path);
            if json {
                print_json(&serde_json::json!({
                    "trimmed_rows": trimmed.rows, "trimmed_bytes": trimmed.bytes,
                    "folded_rows": trimmed.folded,
                    "file_before": before, "file_after": after,
                }));
            } else {
                println!(
                    "已压缩 compacted: {} 条变更 changes trimmed ({:.1} MB), {:.1} MB → {:.1} MB",
                    trimmed.rows,
                    trimmed.bytes as f64 / 1_048_576.0,
                    before as f64 / 1_048_576.0,
                    after as f64 / 1_048_576.0
                );
            }
        }
        Admin::Devices => {
            let devices = directory::devices(s.db()).map_err(e)?;
            if json {
                print_json(&devices);
            } else {
                for d in devices {
                    use directory::DeviceState as S;
                    let state = match d.state() {
                        S::HandedOver => "已移交 handed over",
                        S::Lost => "已挂失 lost",
                        S::HandingOver => "移交中 handing over",
                        S::Active => "在用 active",
                        S::Pending => "待登记 pending",
                    };
                    println!(
                        "{}  {:<16} {:<8} {:<12} last sync {}",
                        d.id,
                        state,
                        d.person_name,
                        d.label,
                        d.last_sync_at
                            .map(|t| t.to_string())
                            .unwrap_or_else(|| "-".into())
                    );
                }
            }
        }
        Admin::HandOver { device } => {
            directory::hand_over(s.db(), &device, CLI).map_err(e)?;
            if json {
                print_json(&serde_json::json!({"handing_over": device}));
            } else {
                println!("移交中 handing over (the phone delivers, then erases itself): {device}");
            }
        }
        Admin::Revoke { device } => {
            directory::revoke(s.db(), &device, CLI).map_err(e)?;
            if json {
                print_json(&serde_json::json!({"revoked": device}));
            } else {
                println!("已停用 revoked: {device}");
            }
        }
        Admin::RebuildReadModel => {
            let started = std::time::Instant::now();
            s.rebuild_indexes().map_err(|err| err.to_string())?;
            let docs: i64 = s
                .connection()
                .query_row("SELECT COUNT(*) FROM docs", [], |r| r.get(0))
                .map_err(|err| err.to_string())?;
            let ms = started.elapsed().as_millis() as u64;
            if json {
                print_json(&serde_json::json!({"rebuilt": docs, "ms": ms}));
            } else {
                println!(
                    "已由 {docs} 份文档重建查询表 rebuilt the read model from {docs} documents in {ms} ms"
                );
            }
        }
        Admin::SetPassword { person, login } => {
            let mut password = String::new();
            std::io::stdin()
                .read_line(&mut password)
                .map_err(|err| format!("reading the password from stdin: {err}"))?;
            let password = password.trim_end_matches(['\n', '\r']);
            accounts::set_password(s.db(), &person, &login, password).map_err(e)?;
            if json {
                print_json(&serde_json::json!({"person": person, "login": login}));
            } else {
                println!("已设置登录账户 login set: {login}");
            }
        }
        Admin::ImportHouseholds { grid, file } => {
            let bytes = std::fs::read(&file).map_err(|err| format!("{}: {err}", file.display()))?;
            let n = import::import_roll(&mut s, &grid, &bytes).map_err(|err| err.to_string())?;
            if json {
                print_json(&serde_json::json!({"imported": n, "grid": grid}));
            } else {
                println!("已导入 {n} 户 imported {n} households into {grid}");
            }
        }
        Admin::MergeGrids { from, into } => {
            let n = doorstep_server::moves::merge_grids(&mut s, &from, &into, CLI)
                .map_err(|err| err.to_string())?;
            if json {
                print_json(&serde_json::json!({"merged": from, "into": into, "households": n}));
            } else {
                println!("已合并 merged {from} into {into}: {n} household(s) moved");
            }
        }
        Admin::SplitGrid {
            grid,
            new,
            name,
            buildings,
            groups,
        } => {
            let n = doorstep_server::moves::split_grid(
                &mut s, &grid, &new, &name, &buildings, &groups, CLI,
            )
            .map_err(|err| err.to_string())?;
            if json {
                print_json(&serde_json::json!({"split": grid, "new": new, "households": n}));
            } else {
                println!("已拆分 split {grid}: {n} household(s) moved to {new}");
            }
        }
        Admin::RetireGroup { group, into } => {
            let n = doorstep_server::moves::retire_group(&mut s, &group, into.as_deref(), CLI)
                .map_err(|err| err.to_string())?;
            if json {
                print_json(&serde_json::json!({"retired": group, "into": into, "households": n}));
            } else {
                println!("已撤销 retired {group}: {n} household(s) moved");
            }
        }
        Admin::AddPlan {
            by,
            unit,
            name,
            default_days,
            tag,
            question,
            starts,
            ends,
            goal,
        } => {
            let person = directory::person(s.db(), &by)
                .map_err(e)?
                .ok_or_else(|| format!("no such person / 无此人员: {by}"))?;
            let intervals = tag
                .iter()
                .map(|t| match parse_tag_days(t)? {
                    (tag, Some(d)) => Ok((tag, d)),
                    (_, None) => Err(format!("{t}: a new plan sets days / 新计划须给出天数")),
                })
                .collect::<Result<Vec<_>, String>>()?;
            let new = doorstep_core::domain::plan::NewPlan {
                unit,
                name,
                default_days,
                intervals,
                questions: question,
                starts_at: starts.as_deref().map(parse_date).transpose()?,
                ends_at: ends.as_deref().map(parse_date).transpose()?,
                goal_pct: goal,
            };
            let plan = doorstep_server::plans::create(&mut s, &person, new)
                .map_err(|err| err.to_string())?;
            if json {
                print_json(&plan_json(&plan));
            } else {
                println!("已新建走访计划 plan set up: {} ({})", plan.name, plan.id);
            }
        }
        Admin::SetPlan {
            by,
            plan,
            name,
            default_days,
            tag,
            add_question,
            retire_question,
            retire,
            goal,
        } => {
            let person = directory::person(s.db(), &by)
                .map_err(e)?
                .ok_or_else(|| format!("no such person / 无此人员: {by}"))?;
            let patch = doorstep_core::domain::plan::PlanPatch {
                name,
                default_days: default_days.map(Some),
                intervals: tag
                    .iter()
                    .map(|t| parse_tag_days(t))
                    .collect::<Result<_, _>>()?,
                add_questions: add_question,
                retire_questions: retire_question,
                retired: retire.then_some(true),
                goal_pct: goal.map(Some),
                ..Default::default()
            };
            let p = doorstep_server::plans::update(&mut s, &person, &plan, patch)
                .map_err(|err| err.to_string())?;
            if json {
                print_json(&plan_json(&p));
            } else {
                println!("已修改走访计划 plan changed: {} ({})", p.name, p.id);
            }
        }
        Admin::Plans => {
            let plans = s.plans().map_err(|err| err.to_string())?;
            if json {
                print_json(&plans.iter().map(plan_json).collect::<Vec<_>>());
            } else {
                for p in plans {
                    println!(
                        "{}  {:<10} {}{}",
                        p.id,
                        p.unit,
                        p.name,
                        if p.retired {
                            " (已停用 withdrawn)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        Admin::History => {
            let log = directory::history(s.db(), 1_000).map_err(e)?;
            if json {
                print_json(&log);
            } else {
                for l in log {
                    println!("{}  {:<18} {:<16} {}", l.at, l.what, l.by, l.detail);
                }
            }
        }
        Admin::MoveHousehold {
            household,
            grid,
            group,
        } => {
            let by = doorstep_core::domain::PersonRef::new("admin", CLI);
            let moved = doorstep_server::moves::move_household(
                &mut s,
                &household,
                &grid,
                group.as_deref(),
                by,
            )
            .map_err(|err| err.to_string())?;
            if json {
                print_json(&serde_json::json!({"moved": moved, "grid": grid, "group": group}));
            } else {
                println!(
                    "已迁移 moved {} record(s) to {grid}: {}",
                    moved.len(),
                    moved.join(", ")
                );
            }
        }
    }
    Ok(())
}
