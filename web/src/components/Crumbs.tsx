import { Link } from "react-router-dom";
import { useApi } from "../auth";
import { formatDate } from "../format";
import { useLoad } from "../hooks";

/** "Clients / <name>": the way back from a page about one of the client's sessions. */
export function ClientCrumb({ clientId }: { clientId: string }) {
  const api = useApi();
  const [client] = useLoad(() => api.client(clientId), [api, clientId]);
  const name =
    client.state === "ready" ? client.value.display_name : client.state === "loading" ? "…" : "Client";
  return (
    <>
      <Link to="/app/clients">Clients</Link> / <Link to={`/app/clients/${clientId}`}>{name}</Link>
    </>
  );
}

/** "Clients / <name> / Session of <date> /" above a page that belongs to one recording (its
 * reports); a recording of no client starts at the session, and one that cannot be loaded is
 * still a link back to it. */
export function RecordingCrumbs({ recordingId }: { recordingId: string }) {
  const api = useApi();
  const [recording] = useLoad(() => api.recording(recordingId), [api, recordingId]);
  const loaded = recording.state === "ready" ? recording.value : null;
  return (
    <p className="crumbs">
      {loaded?.client_id && (
        <>
          <ClientCrumb clientId={loaded.client_id} />{" "}/{" "}
        </>
      )}
      <Link to={`/app/recordings/${recordingId}`}>
        {loaded ? `Session of ${formatDate(loaded.recorded_at)}` : "Recording"}
      </Link>{" "}
      /
    </p>
  );
}
