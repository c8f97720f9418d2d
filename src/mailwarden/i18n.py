"""Every sentence a person reads, in English and Japanese."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    "rate": (
        "{count} {metric} in the last {window}; the limit for this account is {limit}",
        "直近{window_ja}に{metric_ja}が{count}件あり、このアカウントの上限{limit}件を超えています",
    ),
    "recipients_per_message": (
        "one message to {count} recipients; this account's limit is {limit}",
        "1通の宛先が{count}件あり、このアカウントの上限{limit}件を超えています",
    ),
    "hourly_profile": (
        "{count} messages this hour; at this hour of the week the account usually sends {usual}",
        "この1時間に{count}通を送信しています。この曜日・時間帯の通常は{usual}通です",
    ),
    "foreign_country": (
        "sent from {country} ({address}), outside the home countries and the account's usual ones",
        "{country}（{address}）から送信されています。通常の国・地域ではありません",
    ),
    "new_network": (
        "client network {asn} ({network}) never seen for this account",
        "このアカウントで初めてのネットワーク {asn}（{network}）からの送信です",
    ),
    "unusual_hour": (
        "sent at {hour}:00 local time, an hour this account never sends in",
        "現地時刻{hour}時台の送信です。このアカウントがこれまで送信したことのない時間帯です",
    ),
    "new_sender": (
        "envelope sender {sender} never used by this account",
        "このアカウントがこれまで使ったことのない送信者アドレス {sender} です",
    ),
    "unknown_recipients": (
        "{unknown} of {total} recipients are external addresses this account never wrote to",
        "宛先{total}件のうち{unknown}件は、これまでやり取りのない外部アドレスです",
    ),
    "quarantined": (
        "account is quarantined since {since} (incident {incident}); held until released",
        "このアカウントは{since}から隔離中です（インシデント{incident}）。解除まで保留します",
    ),
    "login_risk": (
        "the account logged in suspiciously at {at} ({why}); its mail is held for {hours}h",
        "このアカウントは{at}に不審なログイン（{why}）があったため、{hours}時間は送信を保留します",
    ),
    "bounces": (
        "{count} recipients of this account bounced as non-existent in the last hour",
        "直近1時間にこのアカウントの宛先{count}件が存在しない宛先として返送されました",
    ),
    "brute_force_address": (
        "{count} distinct wrong passwords from this address in {minutes} minutes "
        "({accounts} accounts)",
        "このアドレスから{minutes}分間に{count}種類の誤ったパスワード（{accounts}アカウント）",
    ),
    "brute_force_address.network": (
        "{count} distinct wrong passwords from the IPv6 network {source} in {minutes} minutes "
        "({accounts} accounts)",
        "IPv6ネットワーク {source} から{minutes}分間に{count}種類の誤ったパスワード"
        "（{accounts}アカウント）",
    ),
    "brute_force_account": (
        "{count} distinct wrong passwords on this account in {minutes} minutes from "
        "{sources} addresses",
        "このアカウントに{minutes}分間で{count}種類の誤ったパスワード（{sources}個のアドレスから）",
    ),
    "password_spray": (
        "{source} failed on {accounts} accounts in {minutes} minutes with few passwords each",
        "{source} から{minutes}分間に{accounts}アカウントへ少数ずつのパスワードを試行"
        "（パスワードスプレー）",
    ),
    "login_after_failures": (
        "successful login after {count} distinct wrong passwords in {minutes} minutes",
        "{minutes}分間に{count}種類の誤ったパスワードの後でログインに成功しました",
    ),
    "foreign_login": (
        "login from {country} ({address}), outside the home countries",
        "{country}（{address}）からのログインです。通常の国・地域外です",
    ),
    "new_country": (
        "first login of this account from {country} ({address})",
        "このアカウントで初めての国 {country}（{address}）からのログインです",
    ),
    "new_login_network": (
        "first login of this account from network {asn} ({network})",
        "このアカウントで初めてのネットワーク {asn}（{network}）からのログインです",
    ),
    "new_device": (
        "first login of this account from device {device}",
        "このアカウントで初めての端末 {device} からのログインです",
    ),
    "impossible_travel": (
        "logged in from {frm} and {to}, {km} km apart, {hours} hours apart: impossible travel",
        "{frm} と {to}（約{km}km）から{hours}時間の間隔でログイン：移動不可能な組み合わせです",
    ),
    "unusual_login_hour": (
        "login at {hour}:00 local time, an hour this account never logs in at",
        "現地時刻{hour}時台のログインです。このアカウントが通常ログインしない時間帯です",
    ),
    "legacy_auth": (
        "legacy authentication ({kinds}: {protocol}, {mechanism}); consider switching it off",
        "古い認証方式（{kinds}：{protocol}、{mechanism}）が使われています。無効化を検討してください",
    ),
    "denied_address": (
        "login attempt from {address}, which is on a deny list",
        "拒否リストにあるアドレス {address} からのログイン試行です",
    ),
    "login.incident.title": (
        "Suspicious login to {account}: its outbound mail is held",
        "{account} への不審なログイン：送信メールを保留します",
    ),
    "incident.title": (
        "Outbound mail of {account} held: the account does not send like itself",
        "{account} の送信メールを保留しました：通常と異なる送信です",
    ),
    # -- incident response checklist (mailwarden.response.checklist) ---------------------
    "checklist.change_password": (
        "Change the password from another, clean device (not the one that may be compromised)",
        "別の安全な端末からパスワードを変更する（侵害されたおそれのある端末は使わない）",
    ),
    "checklist.end_sessions": (
        "End all sessions: webmail, IMAP/POP, phone apps, app passwords and tokens",
        "すべてのセッションを終了する（Webメール、IMAP/POP、スマートフォンのアプリ、"
        "アプリパスワード、トークン）",
    ),
    "checklist.notify_contacts": (
        "Tell colleagues and contacts by phone, not by mail from the hijacked account",
        "同僚と連絡先に電話で知らせる（乗っ取られたアカウントからのメールでは知らせない）",
    ),
    "checklist.check_forwarding": (
        "Check forwarding rules, filters and auto-replies; remove what the intruder added",
        "転送設定・フィルタ・自動応答を確認し、攻撃者が追加したものを削除する",
    ),
    "checklist.preserve_evidence": (
        "Preserve evidence: logs, held messages, timeline (mailwarden incidents export)",
        "証拠を保全する（ログ、保留メール、時系列。mailwarden incidents export）",
    ),
    "checklist.report_police": (
        "Report to the police when needed (fraud, data leak, harm to others)",
        "必要に応じて警察（都道府県警察のサイバー犯罪相談窓口）に相談・通報する"
        "（詐欺、情報漏えい、第三者への被害）",
    ),
    "checklist.apologise_partners": (
        "Apologise to partners and explain what happened and which mails to ignore",
        "取引先にお詫びし、経緯と無視してほしいメールを説明する",
    ),
    "checklist.prevent_recurrence": (
        "Prevent recurrence: enable MFA, switch off legacy authentication",
        "再発を防ぐ（多要素認証を有効にし、古い認証方式を無効にする）",
    ),
    "checklist.audit": (
        "Audit: other accounts (same password, same signs) and the logs of the period",
        "監査する（同じパスワードや同じ兆候のある他のアカウント、該当期間のログ）",
    ),
    "checklist.state.todo": ("to do", "未対応"),
    "checklist.state.done": ("done", "完了"),
    "checklist.state.skipped": ("skipped", "省略"),
    "checklist.state.n/a": ("not applicable", "該当なし"),
    "checklist.title": (
        "Response checklist of incident {incident}: {done} of {total} steps settled",
        "インシデント {incident} の対応チェックリスト：{total}項目中{done}項目が対応済み",
    ),
    "checklist.error.step": (
        "unknown checklist step {value!r}; the steps are: {steps}",
        "チェックリストの項目 {value!r} はありません。項目：{steps}",
    ),
    "checklist.error.state": (
        "unknown state {value!r}; use one of: {states}",
        "状態 {value!r} は使えません。次のいずれかを指定してください：{states}",
    ),
    "checklist.error.incident": (
        "no incident {value!r}",
        "インシデント {value!r} はありません",
    ),
    "checklist.error.assignment": (
        "--set expects STEP=STATE (for example end_sessions=done), got {value!r}",
        "--set には 項目=状態 を指定してください（例：end_sessions=done）。指定値：{value!r}",
    ),
    # -- containment playbook (mailwarden.response.playbook, .runner) ----------------------
    "playbook.outbound.quarantine": (
        "hold every outgoing message of {account} in Mailwarden until an administrator "
        "releases it",
        "{account} の送信メールを、管理者が解除するまですべて Mailwarden で保留する",
    ),
    "playbook.postfix.hold": (
        "put {account}'s mail waiting in the Postfix queue on hold (postsuper -h)",
        "Postfix のキューにある {account} のメールを保留キューに移す（postsuper -h）",
    ),
    "playbook.postfix.lock": (
        "lock submission: '{account} {mode}' in the check_sasl_access map {map} (postmap)",
        "送信をロック：check_sasl_access マップ {map} に「{account} {mode}」を追加（postmap）",
    ),
    "playbook.dovecot.lock": (
        "lock logins: add {account} to the Dovecot deny passdb {file}",
        "ログインをロック：Dovecot の拒否 passdb {file} に {account} を追加",
    ),
    "playbook.dovecot.kick": (
        "end {account}'s IMAP/POP3 sessions (doveadm kick)",
        "{account} の IMAP/POP3 セッションを切断する（doveadm kick）",
    ),
    "playbook.dovecot.sieve_deactivate": (
        "deactivate {account}'s active Sieve script (forwarding rules), keeping a copy of each "
        "script",
        "{account} の有効な Sieve スクリプト（転送設定）を無効にする（各スクリプトは写しを保存）",
    ),
    "playbook.dovecot.reset_password": (
        "set a new random password for {account} in {file}; it is shown once, never logged or "
        "mailed",
        "{file} で {account} に新しいランダムなパスワードを設定する（表示は一度だけ。"
        "ログやメールには残さない）",
    ),
    "playbook.outbound.release": (
        "release {account}: its outgoing mail flows again",
        "{account} の保留を解除し、送信を再開する",
    ),
    "playbook.postfix.release": (
        "release {account}'s mail held in the Postfix queue (postsuper -H)",
        "Postfix の保留キューにある {account} のメールを解放する（postsuper -H）",
    ),
    "playbook.postfix.unlock": (
        "unlock submission: remove {account} from the check_sasl_access map {map} (postmap)",
        "送信のロックを解除：check_sasl_access マップ {map} から {account} を削除（postmap）",
    ),
    "playbook.postfix.delete": (
        "delete {account}'s held mail after copying each message into the evidence folder",
        "{account} の保留メールを、各メールを証拠フォルダに写してから削除する",
    ),
    "playbook.dovecot.unlock": (
        "unlock logins: remove {account} from the Dovecot deny passdb {file}",
        "ログインのロックを解除：Dovecot の拒否 passdb {file} から {account} を削除",
    ),
    "playbook.dovecot.sieve_activate": (
        "reactivate {account}'s Sieve script",
        "{account} の Sieve スクリプトを再び有効にする",
    ),
    "playbook.unavailable": ("not configured: {what}", "未設定のため実行しません：{what}"),
    "playbook.title": (
        "Playbook of incident {incident} ({account}, severity {severity}, mode {mode})",
        "インシデント {incident} の対応手順（{account}、重大度 {severity}、モード {mode}）",
    ),
    "playbook.automatic": ("Runs by itself:", "自動で実行："),
    "playbook.manual": ("Waits for a person:", "担当者の判断を待つ："),
    "playbook.none": ("(nothing)", "（なし）"),
    "playbook.dry_run": (
        "Dry run: nothing was changed.", "ドライラン：何も変更していません。",
    ),
    "playbook.secret": (
        "New password of {account} (shown once, write it down now): {secret}",
        "{account} の新しいパスワード（表示はこの一度だけです。今すぐ控えてください）：{secret}",
    ),
    "playbook.error.step": (
        "unknown step {value!r}; the steps are: {steps}",
        "手順 {value!r} はありません。手順：{steps}",
    ),
    "playbook.error.action": (
        "no action {value!r} in this incident",
        "このインシデントに操作 {value!r} はありません",
    ),
    "playbook.error.no_undo": (
        "action {value} cannot be undone: {why}",
        "操作 {value} は元に戻せません：{why}",
    ),
    "playbook.error.undone": (
        "action {value} was already undone by action {by}",
        "操作 {value} は操作 {by} ですでに元に戻されています",
    ),
    # -- administrators' HTTP API (mailwarden.api) ---------------------------------------
    "api.error.unauthorized": (
        "missing or wrong token: send the header 'Authorization: Bearer TOKEN'",
        "トークンがないか、正しくありません。"
        "「Authorization: Bearer トークン」ヘッダーを送ってください",
    ),
    "api.error.forbidden": (
        "the token of {name!r} has the role {role}; {method} {path} needs the role {needed}",
        "{name!r} のトークンの権限は {role} です。{method} {path} には {needed} 以上の権限が必要"
        "です",
    ),
    "api.error.not_found": ("no such endpoint: {path}", "そのエンドポイントはありません：{path}"),
    "api.error.method": (
        "method {method} is not allowed on {path}",
        "{path} では {method} メソッドは使えません",
    ),
    "api.error.too_large": (
        "request body larger than {limit} bytes",
        "リクエスト本文が上限の{limit}バイトを超えています",
    ),
    "api.error.length": (
        "Content-Length {value!r} is not a number of bytes",
        "Content-Length {value!r} はバイト数ではありません",
    ),
    "api.error.incomplete": (
        "the request body ended before it was complete",
        "リクエスト本文が途中で切れています",
    ),
    "api.error.utf8": (
        "request body is not valid UTF-8 (byte {position})",
        "リクエスト本文が正しい UTF-8 ではありません（{position}バイト目）",
    ),
    "api.error.json": (
        "request body is not valid JSON (line {line}, column {column})",
        "リクエスト本文が正しい JSON ではありません（{line}行{column}列）",
    ),
    "api.error.object": (
        "request body must be a JSON object",
        "リクエスト本文は JSON オブジェクトにしてください",
    ),
    "api.error.unknown_field": (
        "unknown field {field!r}; the fields are: {fields}",
        "項目 {field!r} はありません。使える項目：{fields}",
    ),
    "api.error.missing": ("{field} is required", "{field} を指定してください"),
    "api.error.type": (
        "{field} must be {expected}",
        "{field} は{expected_ja}で指定してください",
    ),
    "api.error.empty": ("{field} must not be empty", "{field} を空にはできません"),
    "api.error.too_long": (
        "{field} is longer than {limit} characters",
        "{field} が上限の{limit}文字を超えています",
    ),
    "api.error.control": (
        "{field} contains control characters",
        "{field} に制御文字が含まれています",
    ),
    "api.error.no_steps": (
        "steps is empty: name at least one step, or leave it out for the playbook's automatic "
        "steps",
        "steps が空です。手順を1つ以上指定するか、省略して対応手順の自動実行分を使ってください",
    ),
    "api.error.limit": (
        "limit must be a whole number from 1 to {max}",
        "limit は1から{max}までの整数で指定してください",
    ),
    "api.error.status": (
        "status must be one of: {statuses}",
        "status は次のいずれかを指定してください：{statuses}",
    ),
    "api.error.account": (
        "{value!r} is not an account name (empty, too long, or with control characters)",
        "{value!r} はアカウント名ではありません（空、長すぎる、または制御文字を含む）",
    ),
    "api.error.not_quarantined": (
        "{account} is not quarantined",
        "{account} は隔離されていません",
    ),
    "api.error.internal": (
        "internal error; the details are in Mailwarden's log",
        "内部エラーが発生しました。詳細は Mailwarden のログにあります",
    ),
    "api.released": (
        "released {account} (incident {incident}): its next messages are decided normally "
        "within {seconds}s; mail already in Postfix's hold queue stays there (postsuper -H)",
        "{account} の隔離を解除しました（インシデント {incident}）。{seconds}秒以内に通常どおり"
        "判定されます。Postfix の保留キューにあるメールはそのまま残ります（postsuper -H）",
    ),
    # -- evidence bundle (mailwarden.response.evidence, .custody) -------------------------
    "evidence.no_incident": ("no incident {value!r}", "インシデント {value!r} はありません"),
    "evidence.out_exists": (
        "{value} exists already; evidence is never overwritten, choose another name",
        "{value} は既に存在します。証拠は上書きしません。別の名前を指定してください",
    ),
    "evidence.out_dir": (
        "the folder of {value} does not exist",
        "{value} の保存先フォルダがありません",
    ),
    "evidence.write_failed": (
        "the bundle could not be written: {value}",
        "証拠一式を書き込めませんでした：{value}",
    ),
    "evidence.log_unreadable": (
        "log file unreadable or cut short: {error}",
        "ログファイルを読めないか、途中までしか読めませんでした：{error}",
    ),
    "evidence.command_missing": (
        "{command} not found: Postfix is not installed on this machine",
        "{command} が見つかりません。このマシンには Postfix がインストールされていません",
    ),
    "evidence.command_failed": (
        "{command} failed ({error})",
        "{command} が失敗しました（{error}）",
    ),
    "evidence.bad_queue_id": (
        "{value!r} is not a Postfix queue id",
        "{value!r} は Postfix のキューIDではありません",
    ),
    "evidence.message_missing": (
        "held message {queue_id} could not be read ({error}); it may have been released "
        "or deleted",
        "保留メール {queue_id} を読めませんでした（{error}）。解放または削除された可能性があります",
    ),
    "evidence.message_limit": (
        "only the first {limit} held messages were copied; {more} more are not in the bundle",
        "保留メールは最初の{limit}通のみ複製しました。残り{more}通は含まれていません",
    ),
    "evidence.readme": (
        "Evidence bundle of incident {incident} (account {account}), collected by {collector} "
        "on {host} at {at} with Mailwarden.\n"
        "incident.json, timeline.*, decisions.*, checklist.json: records of the incident; "
        "logs/: log excerpts; messages/: held messages (postcat); queue.jsonl: postqueue -j.\n"
        "custody.json is the chain of custody (each entry carries the SHA-256 of the previous "
        "one); manifest.sha256 lists the SHA-256 of every file.\n"
        "Check it with: mailwarden evidence verify BUNDLE.zip (or unzip and sha256sum -c "
        "manifest.sha256).",
        "インシデント {incident}（アカウント {account}）の証拠一式です。{at} に {host} 上で "
        "{collector} が Mailwarden により収集しました。\n"
        "incident.json・timeline.*・decisions.*・checklist.json：インシデントの記録、logs/：ログの抜粋、"
        "messages/：保留メール（postcat）、queue.jsonl：postqueue -j の出力。\n"
        "custody.json は証拠保全の記録（各記録は直前の記録の SHA-256 を含みます）、"
        "manifest.sha256 は全ファイルの SHA-256 の一覧です。\n"
        "確認方法：mailwarden evidence verify BUNDLE.zip（または展開して sha256sum -c "
        "manifest.sha256）。",
    ),
    "evidence.exported": (
        "wrote {path}: {files} files, SHA-256 {sha256}\nchain of custody head: {head} "
        "(note it down: it proves later that the record is unchanged)",
        "{path} を作成しました：{files}ファイル、SHA-256 {sha256}\n"
        "証拠保全記録の末尾ハッシュ：{head}（控えておくと、記録が改ざんされていないことを後で証明できます）",
    ),
    "evidence.not_collected": ("not collected: {item}: {reason}", "未収集：{item}：{reason}"),
    "evidence.intact": (
        "intact: {files} files match the manifest, {entries} custody entries chain correctly "
        "(collected by {collector} at {at}); chain head {head}",
        "改ざんなし：{files}ファイルが一覧と一致し、証拠保全記録{entries}件の連鎖も正しいです"
        "（収集：{collector}、{at}）。末尾ハッシュ {head}",
    ),
    "evidence.too_many": (
        "the zip holds {n} members, more than a bundle ever has; not checked",
        "zip に{n}個のファイルがあり、証拠一式としては多すぎるため確認しません",
    ),
    "evidence.bad_zip": (
        "not a readable zip file ({error})",
        "読み取れる zip ファイルではありません（{error}）",
    ),
    "evidence.unsafe_name": (
        "member name is not a plain relative path (folder entry, '..', absolute path)",
        "ファイル名が通常の相対パスではありません（フォルダ項目、'..'、絶対パス）",
    ),
    "evidence.duplicate": (
        "the name occurs twice in the zip",
        "同じ名前のファイルが zip に2つあります",
    ),
    "evidence.too_big": (
        "larger than the limit of {limit} bytes; checking stopped",
        "上限{limit}バイトを超えるため確認を中止しました",
    ),
    "evidence.unreadable": (
        "cannot be read from the zip ({error}); its bytes were changed",
        "zip から読み取れません（{error}）。内容が変更されています",
    ),
    "evidence.no_manifest": (
        "the manifest is missing",
        "ハッシュ一覧（manifest.sha256）がありません",
    ),
    "evidence.manifest_line": (
        "line {line} of the manifest is malformed",
        "ハッシュ一覧の{line}行目の形式が正しくありません",
    ),
    "evidence.missing": (
        "listed in the manifest but missing from the bundle",
        "ハッシュ一覧にありますが、証拠一式にありません（削除されています）",
    ),
    "evidence.added": (
        "in the bundle but not in the manifest: it was added",
        "ハッシュ一覧にないファイルです（追加されています）",
    ),
    "evidence.changed": (
        "its SHA-256 differs from the manifest: it was changed",
        "SHA-256 がハッシュ一覧と一致しません（変更されています）",
    ),
    "evidence.no_custody": (
        "the chain of custody is missing",
        "証拠保全の記録（custody.json）がありません",
    ),
    "evidence.custody_format": (
        "the chain of custody is not a list of entries",
        "証拠保全の記録の形式が正しくありません",
    ),
    "evidence.chain_broken": (
        "the chain breaks at entry {entry}: an entry was removed, inserted or reordered",
        "証拠保全の記録の連鎖が{entry}件目で途切れています（記録の削除・挿入・並べ替え）",
    ),
    "evidence.custody_edited": (
        "custody entry {entry} was edited (its SHA-256 does not match its content)",
        "証拠保全の記録の{entry}件目が編集されています（内容と SHA-256 が一致しません）",
    ),
    "evidence.custody_mismatch": (
        "custody entry {entry} records another SHA-256 than the manifest",
        "証拠保全の記録{entry}件目の SHA-256 がハッシュ一覧と一致しません",
    ),
    "evidence.uncovered": (
        "no custody entry records how this file was collected",
        "このファイルの収集を記録した証拠保全の記録がありません",
    ),
    "evidence.not_sealed": (
        "the chain of custody does not end with its seal: entries were cut off",
        "証拠保全の記録が封印の記録で終わっていません（末尾が削除されています）",
    ),
    "evidence.head_mismatch": (
        "the chain head is {found}, not the expected {expected}",
        "末尾ハッシュが {found} で、控えの {expected} と一致しません",
    ),
    # -- mailwarden accounts --------------------------------------------------------------------
    "cli.accounts.quarantined_line": (
        "{account}  since {since}  {incident}",
        "{account}  {since} から隔離中  {incident}",
    ),
    "cli.accounts.none_quarantined": (
        "no quarantined accounts",
        "隔離中のアカウントはありません",
    ),
    "cli.accounts.not_quarantined": (
        "{account} is not quarantined",
        "{account} は隔離されていません",
    ),
    "cli.accounts.released": (
        "released {account} (incident {incident}); a running serve applies it within {seconds}s",
        "{account} の隔離を解除しました（インシデント {incident}）。"
        "稼働中の serve には{seconds}秒以内に反映されます",
    ),
    # -- mailwarden api token -------------------------------------------------------------------
    "cli.api_token.name_length": (
        "a token's name has 1 to {max} characters",
        "トークンの名前は1〜{max}文字で指定してください",
    ),
    "cli.api_token.name_control": (
        "a token's name has no control or invisible characters",
        "トークンの名前に制御文字や目に見えない文字は使えません",
    ),
    "cli.api_token.name_shared": (
        "{shared} is the shared token's name ([api] token or DATA_DIR/api.token): "
        "choose the person's name",
        "{shared} は共有トークン（[api] token または DATA_DIR/api.token）の名前です。"
        "利用者本人の名前を指定してください",
    ),
    "cli.api_token.bad_role": (
        "unknown role {role}; the roles are: {roles}",
        "{role} という権限はありません。指定できる権限: {roles}",
    ),
    "cli.api_token.exists": (
        "{name} already has a token: revoke it first",
        "{name} にはすでにトークンがあります。先に失効させてください",
    ),
    "cli.api_token.added": (
        "the token above is {name}'s ({role}); it is shown only now, Mailwarden keeps only its "
        "SHA-256. Send it as 'Authorization: Bearer TOKEN'.",
        "上のトークンは {name} 用（権限 {role}）です。表示されるのは今回だけで、Mailwarden は "
        "SHA-256 しか保存しません。'Authorization: Bearer TOKEN' として送ってください。",
    ),
    "cli.api_token.line": (
        "{name}  {role}  created {created}{by}  last used: {used}",
        "{name}  {role}  作成 {created}{by}  最終使用: {used}",
    ),
    "cli.api_token.created_by": (
        " by {by}",
        "（{by}）",
    ),
    "cli.api_token.never_used": (
        "never used",
        "未使用",
    ),
    "cli.api_token.revoked_mark": (
        "  REVOKED {at}",
        "  失効済み {at}",
    ),
    "cli.api_token.shared_note": (
        "(and the shared token, [api] token or DATA_DIR/api.token: acts as {shared}, role admin)",
        "（このほかに共有トークン（[api] token または DATA_DIR/api.token）があり、"
        "{shared} として admin 権限で動作します）",
    ),
    "cli.api_token.shared_revoke": (
        "{shared} is the shared token: change [api] token, or delete DATA_DIR/api.token, "
        "and restart serve",
        "{shared} は共有トークンです。[api] token を変更するか DATA_DIR/api.token を削除して、"
        "serve を再起動してください",
    ),
    "cli.api_token.no_token": (
        "{name} has no token to revoke",
        "{name} には失効させるトークンがありません",
    ),
    "cli.api_token.revoked": (
        "revoked the token of {name}",
        "{name} のトークンを失効させました",
    ),
    # -- mailwarden simulate takeover -----------------------------------------------------------
    "cli.simulate.one_target": (
        "give exactly one of --policy or --smtp",
        "--policy と --smtp のどちらか一方だけを指定してください",
    ),
    "cli.simulate.failed": (
        "drill failed: {error}",
        "訓練に失敗しました: {error}",
    ),
    "cli.simulate.counts": (
        "sent {sent}, accepted {accepted}, held {held}, refused {refused} in {seconds}s",
        "{seconds}秒間に送信{sent}通: 受理{accepted}通、保留{held}通、拒否{refused}通",
    ),
    "cli.simulate.got_through": (
        "got through before the hold: {count}",
        "保留が始まる前に通過したメール: {count}通",
    ),
    "cli.simulate.first_hold": (
        " (first held: message {number})",
        "（最初に保留されたのは{number}通目）",
    ),
    # -- log files read by logs import, logs scan and replay --------------------------------
    "cli.log_file.error": (
        "{path}: {reason}",
        "{path} を読めません: {reason}",
    ),
    "cli.log_file.error_at": (
        "{path}: {reason} (after line {line})",
        "{path} を読めません（{line}行目の後）: {reason}",
    ),
    # -- mailwarden logs import / scan ----------------------------------------------------------
    "cli.logs.learned": (
        "learned {messages} messages of {accounts} accounts from {start} to {end}",
        "{start} から {end} までのログで、{accounts}アカウントの{messages}通を学習しました",
    ),
    "cli.logs.finding": (
        "{time}  FINDING {signal} {severity} {account} {address}: {reason}",
        "{time}  検知 {signal} {severity} {account} {address}: {reason}",
    ),
    "cli.logs.login": (
        "{time}  login {ok} {account} from {address} ({country}) {protocol}",
        "{time}  ログイン {ok} {account} 接続元 {address}（{country}） {protocol}",
    ),
    "cli.logs.login_ok": ("ok  ", "成功"),
    "cli.logs.login_failed": ("FAIL", "失敗"),
    "cli.logs.summary": (
        "{logins} logins, {submissions} submissions, {deliveries} deliveries, "
        "{findings} findings",
        "ログイン{logins}件、送信{submissions}件、配送{deliveries}件、検知{findings}件",
    ),
    # -- mailwarden replay ----------------------------------------------------------------------
    "cli.replay.incident": (
        "{opened_at}  incident {id}  {account}: {reasons}",
        "{opened_at}  インシデント {id}  {account}: {reasons}",
    ),
    "cli.replay.summary": (
        "{messages} messages, {held} held, {incidents} incidents, {accounts} accounts "
        "({start} .. {end})",
        "メール{messages}通、保留{held}通、インシデント{incidents}件、アカウント{accounts}件"
        "（{start} .. {end}）",
    ),
    # -- mailwarden logins findings -------------------------------------------------------------
    "cli.logins.none": (
        "no findings",
        "検知結果はありません",
    ),
    # -- mailwarden incidents list / show -------------------------------------------------------
    "cli.incidents.none": (
        "no incidents",
        "インシデントはありません",
    ),
    "cli.incidents.unknown": (
        "no incident {incident}",
        "インシデント {incident} はありません",
    ),
    "cli.incidents.heading": (
        "{id}  {status}  {severity}  score {score}",
        "{id}  {status}  {severity}  スコア {score}",
    ),
    "cli.incidents.account": (
        "account: {account}   opened: {opened}",
        "アカウント: {account}   検知日時: {opened}",
    ),
    "cli.incidents.reasons": ("reasons:", "理由:"),
    "cli.incidents.evidence": ("evidence:", "証拠:"),
    "cli.incidents.timeline": ("timeline:", "タイムライン:"),
    # -- mailwarden incidents respond / actions / undo / delete-held ----------------------------
    "cli.response.changed": (
        " (changed)",
        "（変更あり）",
    ),
    "cli.response.action": (
        "#{id} {started} {status} {target}.{operation}{undoes} by {actor} "
        "changed={changed}  {undo}",
        "#{id} {started} {status} {target}.{operation}{undoes} 実行者 {actor} "
        "変更={changed}  {undo}",
    ),
    "cli.response.changed_true": ("true", "あり"),
    "cli.response.changed_false": ("false", "なし"),
    "cli.response.undoes": (
        " (undoes #{id})",
        "（#{id} の取り消し）",
    ),
    "cli.response.undone_by": (
        "undone by #{id}",
        "#{id} で取り消し済み",
    ),
    "cli.response.undo": (
        "undo: {operation}",
        "取り消し方法: {operation}",
    ),
    "cli.response.no_undo": (
        "no undo: {reason}",
        "取り消し不可: {reason}",
    ),
    "cli.response.why": (
        "why: {reason}",
        "理由: {reason}",
    ),
    "cli.response.needs_yes": (
        "deleting held mail needs --yes",
        "保留メールを削除するには --yes を指定してください",
    ),
    "cli.response.deleted": (
        "#{id} {status}: {count} deleted, copies in {folder}",
        "#{id} {status}: {count}通を削除しました。複製の保存先: {folder}",
    ),
    # -- mailwarden spf check -------------------------------------------------------------------
    "cli.spf.not_ip": (
        "not an IP address: {ip}",
        "IP アドレスではありません: {ip}",
    ),
    # -- mailwarden audit / analyze: usage errors -----------------------------------------------
    "cli.audit.no_domain": (
        "give at least one domain, or --file FILE",
        "ドメインを1つ以上指定するか、--file FILE を指定してください",
    ),
    "cli.audit.cannot_read": (
        "cannot read {path}: {error}",
        "{path} を読めません: {error}",
    ),
    "cli.audit.bad_nameserver": (
        "--nameserver {value}: expected IP, IP:PORT or [IPv6]:PORT",
        "--nameserver {value}: IP、IP:PORT または [IPv6]:PORT の形式で指定してください",
    ),
    "cli.audit.nameserver_port": (
        "--nameserver {value}: port out of range",
        "--nameserver {value}: ポート番号が範囲外です",
    ),
    "cli.audit.concurrency": (
        "--concurrency {value}: expected 1-{max}",
        "--concurrency {value}: 1〜{max} の範囲で指定してください",
    ),
    "cli.audit.timeout": (
        "--timeout {value}: expected more than 0 and at most 300",
        "--timeout {value}: 0 より大きく 300 以下の値を指定してください",
    ),
    "cli.audit.relay_test": (
        "--relay-test needs --probe-smtp",
        "--relay-test には --probe-smtp も指定してください",
    ),
    "cli.audit.no_folder": (
        "--html {path}: no such folder",
        "--html {path}: そのフォルダはありません",
    ),
    "cli.audit.cannot_write": (
        "cannot write {path}: {error}",
        "{path} に書き込めません: {error}",
    ),
    "cli.bad_lang": (
        "--lang {value}: expected ja or en",
        "--lang {value}: ja または en を指定してください",
    ),
    # -- mailwarden serve: start-up (its operational log lines stay English) --------------------
    "cli.listen.bad": (
        "--{name}-listen: expected HOST:PORT or off, got {value}",
        "--{name}-listen: HOST:PORT または off を指定してください（指定値: {value}）",
    ),
    "cli.serve.bad_event_loop": (
        "--event-loop: expected auto, uvloop or asyncio, got {value}",
        "--event-loop: auto、uvloop、asyncio のいずれかを指定してください（指定値: {value}）",
    ),
    "cli.serve.no_uvloop": (
        "--event-loop uvloop: uvloop is not installed",
        "--event-loop uvloop: uvloop がインストールされていません",
    ),
    "cli.serve.event_loop": (
        "event loop {name}",
        "イベントループ: {name}",
    ),
    "cli.serve.cannot_listen": (
        "cannot listen: {error}",
        "待ち受けを開始できません: {error}",
    ),
    # config.ConfigError: {file} is the configuration file, {setting} a key such as
    # "milter.languages"; values, allowed values and the errors of the system and of the TOML
    # parser are shown as given.
    "config.error.cannot_read": (
        "{file}: cannot read: {error}",
        "{file}: 読み込めません: {error}",
    ),
    "config.error.toml": (
        "{file}: not valid TOML: {error}",
        "{file}: TOML として正しくありません: {error}",
    ),
    "config.error.unknown_section": (
        "{file}: unknown section [{section}]",
        "{file}: 不明なセクション [{section}] があります",
    ),
    "config.error.not_a_table": (
        "{file}: [{section}] must be a table",
        "{file}: [{section}] はテーブル（[{section}] 見出しの下に キー = 値 を並べる形）で"
        "書いてください",
    ),
    "config.error.unknown_setting": (
        "{file}: {section}: unknown setting {setting}",
        "{file}: {section}: 不明な設定項目 {setting} があります",
    ),
    "config.error.list_of_strings": (
        "{file}: {setting}: expected a list of strings",
        "{file}: {setting}: 文字列のリストを指定してください",
    ),
    "config.error.boolean": (
        "{file}: {setting}: expected {expected}, got a boolean",
        "{file}: {setting}: {expected} 型の値を指定してください（真偽値が指定されています）",
    ),
    "config.error.type": (
        "{file}: {setting}: expected {expected}, got {got}",
        "{file}: {setting}: {expected} 型の値を指定してください（指定値の型: {got}）",
    ),
    "config.error.one_of": (
        "{file}: {setting} must be one of {allowed}",
        "{file}: {setting} には次のいずれかを指定してください: {allowed}",
    ),
    "config.error.timezone": (
        "{file}: {setting}: unknown {error}",
        "{file}: {setting}: 不明なタイムゾーンです（{error}）",
    ),
    "config.error.listen": (
        "{file}: {setting}: expected HOST:PORT or off, got {value}",
        "{file}: {setting}: HOST:PORT または off を指定してください（指定値: {value}）",
    ),
    "config.error.min_length": (
        "{file}: {setting} must have at least {least} characters",
        "{file}: {setting} は{least}文字以上にしてください",
    ),
    "config.error.at_least": (
        "{file}: {setting} must be at least {least}",
        "{file}: {setting} は{least}以上にしてください",
    ),
    "config.error.at_least_setting": (
        "{file}: {setting} must be at least {other} ({least})",
        "{file}: {setting} は {other}（{least}）以上にしてください",
    ),
    "config.error.positive": (
        "{file}: {setting} must be positive",
        "{file}: {setting} は正の数にしてください",
    ),
    "config.error.positive_at_most": (
        "{file}: {setting} must be positive and at most {other}",
        "{file}: {setting} は正の数で、{other} 以下にしてください",
    ),
    "config.error.names_nobody": (
        "{file}: {section}: {value} names nobody "
        "(expected \"NAME | NAME\" or \"ADDRESS: NAME | NAME\")",
        "{file}: {section}: {value} に名前がありません"
        "（\"NAME | NAME\" または \"ADDRESS: NAME | NAME\" の形で書いてください）",
    ),
    "config.error.reject_reply": (
        "{file}: {setting} must be an SMTP reply such as \"550 5.7.1 text\" "
        "(4xx or 5xx, enhanced code of the same class)",
        "{file}: {setting} には \"550 5.7.1 text\" のような SMTP 応答を指定してください"
        "（4xx または 5xx で、拡張ステータスコードも同じクラスのもの）",
    ),
    "config.error.clamd_unix": (
        "{file}: {setting}: expected unix:/absolute/path, got {value}",
        "{file}: {setting}: unix:/絶対パス を指定してください（指定値: {value}）",
    ),
    "config.error.clamd": (
        "{file}: {setting}: expected unix:/path, tcp:HOST:PORT or HOST:PORT, got {value}",
        "{file}: {setting}: unix:/パス、tcp:HOST:PORT または HOST:PORT を指定してください"
        "（指定値: {value}）",
    ),
    "config.error.unknown_channel": (
        "{file}: {setting}: unknown channel {value} (known: {known})",
        "{file}: {setting}: 不明なチャネル {value} です（使えるもの: {known}）",
    ),
    "config.error.needed_by_channel": (
        "{file}: {setting} is needed by channel {channel}",
        "{file}: チャネル {channel} には {setting} の設定が必要です",
    ),
    "config.error.doveadm_http": (
        "{file}: {url} and {api_key} are needed by {setting} = \"http\"",
        "{file}: {setting} = \"http\" には {url} と {api_key} の設定が必要です",
    ),
    "config.error.unknown_step": (
        "{file}: {setting}: unknown step {value} (known: {known})",
        "{file}: {setting}: 不明な手順 {value} です（使えるもの: {known}）",
    ),
    "config.error.manual_only": (
        "{file}: {setting}: {step} cannot run by itself (its new password must be shown to a "
        "person); list it in {manual}",
        "{file}: {setting}: {step} は自動では実行できません（新しいパスワードを担当者に見せる"
        "必要があるため）。{manual} に書いてください",
    ),
}

WINDOW_JA = {"minute": "1分間", "10 minutes": "10分間", "hour": "1時間", "day": "24時間",
             "message": "1通"}
METRIC_JA = {"messages": "送信メール", "external recipients": "外部宛先",
             "recipient domains": "宛先ドメイン", "recipients": "宛先"}


def render(key: str, lang: str, **params: Any) -> str:
    """The sentence for ``key`` in ``lang`` ("en" or "ja")."""
    en, ja = MESSAGES[key]
    params.setdefault("window_ja", WINDOW_JA.get(str(params.get("window", "")), ""))
    params.setdefault("metric_ja", METRIC_JA.get(str(params.get("metric", "")), ""))
    try:
        return (ja if lang == "ja" else en).format(**params)
    except (KeyError, IndexError, ValueError):
        return en
