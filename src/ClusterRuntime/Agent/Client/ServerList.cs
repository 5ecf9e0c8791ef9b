// The API servers an agent knows: the one it was given, plus those learned from the kubernetes Endpoints; one is current.
namespace Appliance.ClusterRuntime.Agent.Client;

/// <summary>
/// The agent's view of the servers (K3s's agent load balancer, in process): requests go to <see cref="Current"/>; when
/// it fails, <see cref="Failed"/> moves on to the next. The list is refreshed from the <c>kubernetes</c> Endpoints; the
/// address given with <c>--server</c> is always kept, so a cluster that lost all learned servers is still reachable.
/// </summary>
public sealed class ServerList
{
    readonly Lock _lock = new();
    readonly Uri _given;
    List<Uri> _servers;
    int _current;

    /// <summary>Starts with <paramref name="given"/> (the --server URL) and any <paramref name="known"/> ones.</summary>
    public ServerList(Uri given, IEnumerable<Uri>? known = null)
    {
        _given = Root(given);
        _servers = [_given, .. (known ?? []).Select(Root).Where(u => u != _given).Distinct()];
    }

    /// <summary>The server requests go to now.</summary>
    public Uri Current { get { lock (_lock) return _servers[_current]; } }

    /// <summary>All known servers, the given one first.</summary>
    public IReadOnlyList<Uri> All { get { lock (_lock) return [.. _servers]; } }

    /// <summary>Raised (outside the lock) when the current server changes, with the old and the new one.</summary>
    public event Action<Uri, Uri>? Switched;

    /// <summary>Marks <paramref name="server"/> failed: if it is still current, the next one becomes current. Returns the current server.</summary>
    public Uri Failed(Uri server)
    {
        Uri now;
        lock (_lock)
        {
            if (_servers[_current] != server || _servers.Count == 1) return _servers[_current];
            _current = (_current + 1) % _servers.Count;
            now = _servers[_current];
        }
        Switched?.Invoke(server, now);
        return now;
    }

    /// <summary>Replaces the learned servers with <paramref name="learned"/>; the current one stays current if still listed. Returns true when the list changed.</summary>
    public bool Learn(IEnumerable<Uri> learned)
    {
        lock (_lock)
        {
            var current = _servers[_current];
            List<Uri> next = [_given, .. learned.Select(Root).Where(u => u != _given).Distinct().Order(UriOrder.Instance)];
            if (next.SequenceEqual(_servers)) return false;
            _servers = next;
            _current = Math.Max(0, _servers.IndexOf(current));
            return true;
        }
    }

    static Uri Root(Uri u) => new($"{u.Scheme}://{u.Authority}/");

    sealed class UriOrder : IComparer<Uri>
    {
        public static readonly UriOrder Instance = new();
        public int Compare(Uri? x, Uri? y) => string.CompareOrdinal(x?.AbsoluteUri, y?.AbsoluteUri);
    }
}
