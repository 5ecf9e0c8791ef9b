// The one way both programs replace a whole file: unique temp sibling, mode set at creation, fsync, rename, fsync the directory.
using System.Text;

namespace Appliance.Common;

/// <summary>
/// Writes a file so that readers, and the file system after a crash, see either the old file or the whole new one.
/// <list type="number">
/// <item>A unique temporary sibling <c>.NAME.tmp-RANDOM</c> is created, with the final mode when one is given (set at
/// creation, before any byte is written; the umask still applies).</item>
/// <item>The caller writes it; a durable file is then fsynced.</item>
/// <item>It is renamed over the final name (<see cref="Rename"/>), and for a durable file the directory is fsynced so
/// the rename itself survives a crash.</item>
/// </list>
/// Disposing without committing deletes the temporary file. Use the static <c>Write</c> methods for whole contents, or an
/// instance for content written through <see cref="Stream"/> (or by a writer that opens <see cref="TempPath"/> itself).
/// </summary>
public class AtomicFile : IDisposable
{
    private readonly AtomicFileOptions _options;
    private readonly IDisposable _tracked;
    private FileStream? _stream;
    private bool _committed;

    /// <summary>
    /// Told about every temporary file, so that whoever owns the process (a command's signal handling) can remove them
    /// when it is stopped. Null (the default): nobody is told. Set once, by the program's entry point.
    /// </summary>
    public static ITemporaryFileTracker? Tracker { get; set; }

    /// <summary>Creates the temporary file next to <paramref name="path"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">The directory of <paramref name="path"/> does not exist.</exception>
    public AtomicFile(string path, AtomicFileOptions? options = null)
    {
        _options = options ?? AtomicFileOptions.Default;
        Path = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(Path)!;
        if (!Directory.Exists(dir))
            throw new DirectoryNotFoundException($"{dir}: directory does not exist (writing {System.IO.Path.GetFileName(Path)})");
        TempPath = System.IO.Path.Combine(dir, TemporaryPrefix(System.IO.Path.GetFileName(Path)) + Guid.NewGuid().ToString("N"));
        _tracked = Tracker?.Track(TempPath) ?? Nothing.Instance;
        try
        {
            var create = new FileStreamOptions
            {
                Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = _options.BufferSize,
            };
            if (_options.Mode is { } mode && !OperatingSystem.IsWindows())
                create.UnixCreateMode = mode;
            _stream = new FileStream(TempPath, create);
        }
        catch
        {
            _tracked.Dispose();
            throw;
        }
    }

    /// <summary>The final path (full).</summary>
    public string Path { get; }

    /// <summary>The temporary file, for writers that open it themselves; it exists, empty, until commit or dispose.</summary>
    public string TempPath { get; }

    /// <summary>The temporary file's stream.</summary>
    public FileStream Stream => _stream ?? throw new ObjectDisposedException(TempPath);

    /// <summary>Flushes (fsyncs if durable), closes and renames the file into place.</summary>
    /// <exception cref="IOException">Without <see cref="AtomicFileOptions.Overwrite"/>, the final path exists.</exception>
    public void Commit() => CommitUnfinished([]).Dispose();

    /// <summary>
    /// Commits, and tells the <see cref="Tracker"/> that the final file and <paramref name="alsoUnfinished"/> stay
    /// unfinished until the returned token is disposed: for an output that is only complete together with others
    /// written after it. The rename and that hand-over are one step for the tracker.
    /// </summary>
    public IDisposable CommitUnfinished(IEnumerable<string> alsoUnfinished)
    {
        var stream = Stream;
        stream.Flush(flushToDisk: _options.Durable);
        stream.Dispose();
        _stream = null;
        void Move() => Rename(TempPath, Path, _options.Overwrite, _options.Durable);
        IDisposable token;
        if (Tracker is { } tracker)
            token = tracker.Commit(TempPath, Path, _tracked, alsoUnfinished, Move);
        else
        {
            Move();
            token = Nothing.Instance;
        }
        _committed = true;
        return token;
    }

    /// <summary>Deletes the temporary file unless the file was committed.</summary>
    public void Dispose()
    {
        GC.SuppressFinalize(this);
        if (_committed) return;
        _stream?.Dispose();
        _stream = null;
        try { File.Delete(TempPath); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        _tracked.Dispose();
    }

    /// <summary>Writes <paramref name="bytes"/> as the whole content of <paramref name="path"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes, AtomicFileOptions? options = null)
    {
        using var file = new AtomicFile(path, options);
        file.Stream.Write(bytes);
        file.Commit();
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8, no byte order mark) as the whole content of <paramref name="path"/>.</summary>
    public static void WriteText(string path, string text, AtomicFileOptions? options = null) =>
        Write(path, Encoding.UTF8.GetBytes(text), options);

    /// <summary>Lets <paramref name="write"/> fill the content of <paramref name="path"/> through a stream.</summary>
    public static void Write(string path, Action<Stream> write, AtomicFileOptions? options = null)
    {
        using var file = new AtomicFile(path, options);
        write(file.Stream);
        file.Commit();
    }

    /// <summary>
    /// Whether <paramref name="name"/> is the name of a temporary file made for a file named <paramref name="target"/>
    /// (one an interrupted writer may have left behind).
    /// </summary>
    public static bool IsTemporaryFileOf(string name, string target) =>
        name.StartsWith(TemporaryPrefix(target), StringComparison.Ordinal);

    private static string TemporaryPrefix(string target) => $".{target}.tmp-";

    /// <summary>
    /// Forces the directory's entries (names created or renamed in it) to the disk, for callers that rename many files
    /// into one directory with <c>durable: false</c> and then make them all durable at once.
    /// </summary>
    public static void SyncDirectory(string directory) => Native.FsyncDirectory(directory);

    /// <summary>
    /// Forces everything written to the file system holding <paramref name="path"/> to the disk (syncfs), for writes
    /// another program made there (containerd unpacking an image) that must survive a power loss.
    /// </summary>
    /// <exception cref="IOException">The path cannot be opened, or the sync failed.</exception>
    public static void SyncFileSystem(string path) => Native.SyncFileSystem(path);

    /// <summary>
    /// Renames <paramref name="from"/> to <paramref name="to"/> in the same directory and, when
    /// <paramref name="durable"/>, fsyncs the directory so the new name survives a crash. The one rename path of
    /// every atomic write.
    /// </summary>
    /// <exception cref="IOException">Without <paramref name="overwrite"/>, <paramref name="to"/> exists.</exception>
    public static void Rename(string from, string to, bool overwrite = true, bool durable = true)
    {
        if (overwrite)
            File.Move(from, to, overwrite: true);
        else if (!Native.TryRenameNoReplace(from, to))
        {
            if (File.Exists(to))
                throw new IOException($"{to}: already exists; refusing to overwrite it");
            File.Move(from, to, overwrite: false);
        }
        if (durable)
            Native.FsyncDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(to))!);
    }

    private sealed class Nothing : IDisposable
    {
        public static readonly Nothing Instance = new();
        public void Dispose() { }
    }
}

/// <summary>How <see cref="AtomicFile"/> writes.</summary>
/// <param name="Mode">Unix permissions given to the file at creation (before any byte is written); null: the default (0666 less the umask).</param>
/// <param name="Overwrite">Whether an existing file is replaced; false throws <see cref="IOException"/> instead.</param>
/// <param name="Durable">Whether the file and then its directory are fsynced, so the new content survives a crash.
/// False for scratch files that are thrown away anyway.</param>
/// <param name="BufferSize">The stream's buffer; 0 or 1 for none (for writers that open <see cref="AtomicFile.TempPath"/>).</param>
public sealed record AtomicFileOptions(UnixFileMode? Mode = null, bool Overwrite = true, bool Durable = true, int BufferSize = 1 << 16)
{
    /// <summary>Replace, durable, default mode.</summary>
    public static readonly AtomicFileOptions Default = new();

    /// <summary>Owner read and write only (0600): keys, tokens, kubeconfigs.</summary>
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
}

/// <summary>
/// Follows the temporary files of <see cref="AtomicFile"/> for a process's owner (see <see cref="AtomicFile.Tracker"/>).
/// </summary>
public interface ITemporaryFileTracker
{
    /// <summary>Called before <paramref name="tempPath"/> is created; the token is disposed once it is gone or renamed.</summary>
    IDisposable Track(string tempPath);

    /// <summary>
    /// Runs <paramref name="rename"/> (<paramref name="tempPath"/> to <paramref name="path"/>), disposes
    /// <paramref name="tempToken"/>, and returns a token that keeps <paramref name="path"/> and
    /// <paramref name="alsoUnfinished"/> followed as unfinished outputs, all as one step.
    /// </summary>
    IDisposable Commit(string tempPath, string path, IDisposable tempToken, IEnumerable<string> alsoUnfinished, Action rename);
}
