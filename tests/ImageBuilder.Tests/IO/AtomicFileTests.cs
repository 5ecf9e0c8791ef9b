// The shared atomic writer (src/Common): content, mode from creation, no-overwrite, cleanup on failure, the tracker hook.
using System.Security.Cryptography;
using Appliance.Common;

namespace Appliance.ImageBuilder.Tests.IO;

[Collection(nameof(AtomicFileTrackerCollection))]
public sealed class AtomicFileTests : IDisposable
{
    private readonly TempDir _dir = new("atomicfile-");

    public void Dispose() => _dir.Dispose();

    private string PathOf(string name) => _dir[name];

    [Fact]
    [Trait("Category", "Unit")]
    public void Write_ReplacesTheFile_AndLeavesNoTemporaryFile()
    {
        var path = PathOf("a.json");
        File.WriteAllText(path, "old");
        AtomicFile.Write(path, "new"u8);
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal(["a.json"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    [Trait("Category", "Unit")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Mode_IsSetWhenTheFileIsCreated_BeforeAnyByteIsWritten()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Unix file modes");
        var path = PathOf("key.pem");
        UnixFileMode? seen = null;
        AtomicFile.Write(path, stream =>
        {
            var temp = Assert.Single(new DirectoryInfo(_dir.Path).GetFiles());
            Assert.Equal(0, temp.Length);
            seen = File.GetUnixFileMode(temp.FullName);
            stream.Write("secret"u8);
        }, new(Mode: AtomicFileOptions.OwnerOnly));
        Assert.Equal(AtomicFileOptions.OwnerOnly, seen);
        Assert.Equal(AtomicFileOptions.OwnerOnly, File.GetUnixFileMode(path));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void NoOverwrite_RefusesAnExistingFile_AndKeepsIt()
    {
        var path = PathOf("k.pub");
        File.WriteAllText(path, "first");
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, "second"u8, new(Overwrite: false)));
        Assert.Contains("already exists", e.Message);
        Assert.Equal("first", File.ReadAllText(path));
        Assert.Equal(["k.pub"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void FailedWrite_RemovesTheTemporaryFile_AndKeepsTheOldContent()
    {
        var path = PathOf("index.json");
        File.WriteAllText(path, "old");
        Assert.Throws<InvalidDataException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write("half"u8);
            throw new InvalidDataException("the source broke");
        }));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal(["index.json"], Directory.GetFiles(_dir.Path).Select(Path.GetFileName));
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void MissingDirectory_IsNamed()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Write(PathOf("no/such/x"), "x"u8));
        Assert.Contains(PathOf("no/such"), e.Message);
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void Tracker_SeesTheTemporaryFileBeforeItExists_AndTheCommitAsOneStep()
    {
        var tracker = new RecordingTracker(_dir.Path);
        AtomicFile.Tracker = tracker;
        try
        {
            var path = PathOf("site.img");
            using (var f = new AtomicFile(path))
            {
                f.Stream.Write("image"u8);
                using var unfinished = f.CommitUnfinished([PathOf("site.manifest.json")]);
                Assert.Equal(["site.img", "site.manifest.json"], tracker.Unfinished.Select(Path.GetFileName));
            }
            Assert.Empty(tracker.Unfinished);
            var temp = Assert.Single(tracker.Tracked);
            Assert.False(tracker.TempExistedWhenTracked);
            Assert.True(AtomicFile.IsTemporaryFileOf(Path.GetFileName(temp), "site.img"), temp);
            Assert.False(AtomicFile.IsTemporaryFileOf(Path.GetFileName(temp), "site"), temp);
            Assert.True(tracker.TempReleased);
            Assert.Equal("image", File.ReadAllText(path));

            // A write that fails releases the temporary file's registration too.
            Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(PathOf("b"), _ => throw new InvalidOperationException()));
            Assert.Equal(2, tracker.Tracked.Count);
            Assert.Equal(0, tracker.Live);
        }
        finally
        {
            AtomicFile.Tracker = null;
        }
    }

    [Fact]
    [Trait("Category", "Unit")]
    public void FileSha256_OfAFileAndOfARange()
    {
        var path = PathOf("blob");
        var bytes = RandomNumberGenerator.GetBytes(3 << 20);
        File.WriteAllBytes(path, bytes);
        Assert.Equal(SHA256.HashData(bytes), FileSha256.Hash(path));
        Assert.Equal(SHA256.HashData(bytes.AsSpan(12345, 2 << 20)), FileSha256.Hash(path, 12345, 2 << 20));
        Assert.Throws<EndOfStreamException>(() => FileSha256.Hash(path, 1, bytes.Length));
        Assert.Contains(PathOf("nope"), Assert.Throws<FileNotFoundException>(() => FileSha256.Hash(PathOf("nope"))).Message);
    }

    /// <summary>Records what the writer reports about paths under one directory (other tests may write meanwhile).</summary>
    private sealed class RecordingTracker(string dir) : ITemporaryFileTracker
    {
        public List<string> Tracked { get; } = [];
        public List<string> Unfinished { get; } = [];
        public bool TempExistedWhenTracked { get; private set; }
        public bool TempReleased { get; private set; }
        public int Live { get; private set; }

        private bool Mine(string path) => path.StartsWith(dir + "/", StringComparison.Ordinal);

        public IDisposable Track(string tempPath)
        {
            if (!Mine(tempPath)) return new Token(() => { });
            lock (this)
            {
                Tracked.Add(tempPath);
                TempExistedWhenTracked |= File.Exists(tempPath);
                Live++;
            }
            return new Token(() => { lock (this) { Live--; TempReleased = true; } });
        }

        public IDisposable Commit(string tempPath, string path, IDisposable tempToken, IEnumerable<string> alsoUnfinished, Action rename)
        {
            rename();
            tempToken.Dispose();
            if (!Mine(path)) return new Token(() => { });
            List<string> added = [path, .. alsoUnfinished];
            lock (this) Unfinished.AddRange(added);
            return new Token(() => { lock (this) foreach (var p in added) Unfinished.Remove(p); });
        }

        private sealed class Token(Action dispose) : IDisposable
        {
            private Action? _dispose = dispose;
            public void Dispose() => Interlocked.Exchange(ref _dispose, null)?.Invoke();
        }
    }
}

/// <summary>Tests that set the process-wide <see cref="AtomicFile.Tracker"/> do not run beside each other.</summary>
[CollectionDefinition(nameof(AtomicFileTrackerCollection), DisableParallelization = true)]
public sealed class AtomicFileTrackerCollection;
