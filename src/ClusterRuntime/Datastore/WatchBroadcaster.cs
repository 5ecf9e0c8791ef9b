// Fans each committed event out to the in-process watchers, in the order the writer publishes them.
using System.Threading.Channels;

namespace Appliance.ClusterRuntime.Datastore;

/// <summary>
/// In-process fan-out of committed events. The owner calls <see cref="Publish"/> and
/// <see cref="Subscribe"/> under one lock, so a subscriber knows exactly which revision its stream starts after.
/// A watcher that falls more than its buffer behind (in events or in bytes) is cut off
/// (<see cref="Subscription.Overflowed"/>) and catches up from the log instead, so a slow reader never holds the
/// writer back or grows memory without bound.
/// </summary>
/// <param name="maxBufferedBytes">Most bytes of keys and values one watcher may have waiting.</param>
internal sealed class WatchBroadcaster(long maxBufferedBytes = WatchBroadcaster.DefaultMaxBufferedBytes)
{
    /// <summary>32 MiB: about 160 updates of 100 KB objects (value and previous value), or thousands of small ones.</summary>
    public const long DefaultMaxBufferedBytes = 32L * 1024 * 1024;

    private readonly object _gate = new();
    private readonly List<Subscription> _subscriptions = [];
    private bool _closed;

    /// <summary>Bytes an event holds in memory while it waits: key, value and previous value, plus a fixed overhead.</summary>
    public static long SizeOf(WatchEvent ev) => 128 + ev.Kv.Key.Length * 2L + ev.Kv.Value.Length + (ev.PrevKv?.Value.Length ?? 0);

    /// <summary>One watcher's buffer.</summary>
    internal sealed class Subscription
    {
        private readonly Buffer _buffer;

        internal Subscription(string prefix, int capacity, long maxBytes)
        {
            Prefix = prefix;
            _buffer = new Buffer(capacity, maxBytes);
        }

        /// <summary>Key prefix the watcher asked for.</summary>
        public string Prefix { get; }

        /// <summary>Events in revision order.</summary>
        public Channel<WatchEvent> Channel => _buffer;

        /// <summary>True when the buffer filled up and the channel was completed early.</summary>
        public volatile bool Overflowed;

        /// <summary>Bytes (<see cref="SizeOf"/>) waiting to be read.</summary>
        public long BufferedBytes => _buffer.Bytes;

        internal bool TryWrite(WatchEvent ev) => _buffer.TryAdd(ev);
    }

    /// <summary>An unbounded channel limited by hand to a number of events and of bytes; reading gives the room back.</summary>
    private sealed class Buffer : Channel<WatchEvent>
    {
        private readonly Channel<WatchEvent> _inner = System.Threading.Channels.Channel.CreateUnbounded<WatchEvent>(
            new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        private readonly int _capacity;
        private readonly long _maxBytes;
        private long _bytes;
        private int _count;

        public Buffer(int capacity, long maxBytes)
        {
            _capacity = capacity;
            _maxBytes = maxBytes;
            Writer = _inner.Writer;
            Reader = new CountingReader(this);
        }

        public long Bytes => Interlocked.Read(ref _bytes);

        /// <summary>Adds the event unless it would pass a limit (one event always fits into an empty buffer).</summary>
        public bool TryAdd(WatchEvent ev)
        {
            var size = SizeOf(ev);
            var count = Volatile.Read(ref _count);
            if (count >= _capacity || (count > 0 && Interlocked.Read(ref _bytes) + size > _maxBytes)) return false;
            Interlocked.Add(ref _bytes, size);
            Interlocked.Increment(ref _count);
            return _inner.Writer.TryWrite(ev);
        }

        private sealed class CountingReader(Buffer owner) : ChannelReader<WatchEvent>
        {
            public override Task Completion => owner._inner.Reader.Completion;

            public override bool TryRead(out WatchEvent item)
            {
                if (!owner._inner.Reader.TryRead(out item!)) return false;
                Interlocked.Add(ref owner._bytes, -SizeOf(item));
                Interlocked.Decrement(ref owner._count);
                return true;
            }

            public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
                owner._inner.Reader.WaitToReadAsync(cancellationToken);
        }
    }

    /// <summary>Adds a watcher. Returns a completed subscription when the broadcaster is closed.</summary>
    public Subscription Subscribe(string prefix, int capacity)
    {
        var sub = new Subscription(prefix, capacity, maxBufferedBytes);
        lock (_gate)
        {
            if (_closed) sub.Channel.Writer.TryComplete();
            else _subscriptions.Add(sub);
        }
        return sub;
    }

    /// <summary>Removes a watcher.</summary>
    public void Unsubscribe(Subscription sub)
    {
        lock (_gate) _subscriptions.Remove(sub);
        sub.Channel.Writer.TryComplete();
    }

    /// <summary>Hands events (already in revision order) to every matching watcher.</summary>
    public void Publish(IReadOnlyList<WatchEvent> events)
    {
        if (events.Count == 0) return;
        lock (_gate)
        {
            for (var s = _subscriptions.Count - 1; s >= 0; s--)
            {
                var sub = _subscriptions[s];
                foreach (var ev in events)
                {
                    if (!KeyRange.Matches(ev.Kv.Key, sub.Prefix)) continue;
                    if (!sub.TryWrite(ev))
                    {
                        sub.Overflowed = true;
                        sub.Channel.Writer.TryComplete();
                        _subscriptions.RemoveAt(s);
                        break;
                    }
                }
            }
        }
    }

    /// <summary>Cuts every watcher off as if it overflowed, so each one catches up from the log again.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            foreach (var sub in _subscriptions)
            {
                sub.Overflowed = true;
                sub.Channel.Writer.TryComplete();
            }
            _subscriptions.Clear();
        }
    }

    /// <summary>Ends every stream (backend shutdown).</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            foreach (var sub in _subscriptions) sub.Channel.Writer.TryComplete();
            _subscriptions.Clear();
        }
    }
}
