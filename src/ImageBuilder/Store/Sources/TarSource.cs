// A tar file (oci-archive or docker save) as an image source: one scan indexes the members, reads are sub-streams.
using System.Formats.Tar;
using Appliance.ImageBuilder.Oci;

namespace Appliance.ImageBuilder.Store.Sources;

/// <summary>
/// Members of a tar archive, indexed by one pass over the headers. Only directories and regular files are allowed:
/// an image archive has no reason to hold links or devices, so those are refused. Duplicate names are refused too,
/// since which copy a reader takes would be ambiguous.
/// </summary>
public sealed class TarSource : ImageSource
{
    private readonly FileStream _file;
    private readonly Dictionary<string, (long Offset, long Length)> _members;

    private TarSource(FileStream file, string displayName, Dictionary<string, (long, long)> members)
    {
        _file = file;
        DisplayName = displayName;
        _members = members;
    }

    /// <inheritdoc />
    public override string DisplayName { get; }

    /// <summary>The names of the regular files in the archive.</summary>
    public IEnumerable<string> Files => _members.Keys;

    /// <summary>Opens and indexes a tar file.</summary>
    public static TarSource OpenFile(string path, string displayName)
    {
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 0, FileOptions.RandomAccess);
        try
        {
            return new TarSource(file, displayName, Scan(file, displayName));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private static Dictionary<string, (long, long)> Scan(FileStream file, string where)
    {
        var members = new Dictionary<string, (long, long)>(StringComparer.Ordinal);
        var dirs = new HashSet<string>(StringComparer.Ordinal);
        var fileLength = file.Length;
        using var reader = new TarReader(file, leaveOpen: true);
        string last = "(start of archive)";
        while (true)
        {
            TarEntry? e;
            try
            {
                e = reader.GetNextEntry(copyData: false);
            }
            catch (Exception ex) when (ex is EndOfStreamException or InvalidDataException or FormatException or ArgumentException)
            {
                throw new InvalidDataException($"{where}: truncated or corrupt tar after entry '{last}' ({ex.Message})", ex);
            }
            if (e is null)
                break;
            last = e.Name;
            var name = EntryName.Normalize(e.Name, where);
            switch (e.EntryType)
            {
                case TarEntryType.Directory:
                    dirs.Add(name);
                    continue;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    break;
                case TarEntryType.SymbolicLink or TarEntryType.HardLink:
                    throw new InvalidDataException($"{where}: entry '{e.Name}' is a link to '{e.LinkName}'; an image archive may hold only files and directories");
                default:
                    throw new InvalidDataException($"{where}: entry '{e.Name}' is a {e.EntryType} entry; an image archive may hold only files and directories");
            }
            if (e.DataOffset < 0 || e.DataOffset + e.Length > fileLength)
                throw new InvalidDataException($"{where}: truncated: entry '{e.Name}' needs {e.Length} bytes from offset {e.DataOffset}, but the file ends at {fileLength}");
            if (!members.TryAdd(name, (e.DataOffset, e.Length)) || dirs.Contains(name))
                throw new InvalidDataException($"{where}: entry '{e.Name}' appears more than once");
        }
        return members;
    }

    /// <inheritdoc />
    public override bool Exists(string path) => _members.ContainsKey(EntryName.Normalize(path, DisplayName));

    /// <inheritdoc />
    public override long Length(string path) => Member(path).Length;

    private (long Offset, long Length) Member(string path) =>
        _members.TryGetValue(EntryName.Normalize(path, DisplayName), out var m)
            ? m
            : throw new InvalidDataException($"{DisplayName}: entry '{path}' is missing");

    /// <inheritdoc />
    public override Stream Open(string path)
    {
        var (offset, length) = Member(path);
        return new FileSliceStream(_file.SafeFileHandle, offset, length);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _file.Dispose();
        base.Dispose();
    }
}
