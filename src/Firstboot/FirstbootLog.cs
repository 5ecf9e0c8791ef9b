// First boot's log: the console, /run/appliance/firstboot.log before DATA exists, then DATA/logs, size-bounded.
using System.Text;

namespace Appliance.Firstboot;

/// <summary>
/// Line log with UTC times. Lines go to stderr (the console) and to a file: <c>/run/appliance/firstboot.log</c> until
/// the data partition is mounted, then <c>DATA/logs/firstboot.log</c>, which starts with what the run file held. At
/// <see cref="MaxBytes"/> the file is rotated to <c>.1</c> … <c>.<see cref="Keep"/></c>, the oldest dropped.
/// </summary>
public sealed class FirstbootLog
{
    /// <summary>Bytes after which the log file is rotated.</summary>
    public const long MaxBytes = 1 << 20;
    /// <summary>Rotated files kept.</summary>
    public const int Keep = 3;

    private readonly object _lock = new();
    private readonly TextWriter _console;
    private string? _file;

    /// <summary>Creates a log writing to <paramref name="console"/> and, once set, a file.</summary>
    public FirstbootLog(TextWriter console, string? file = null)
    {
        _console = console;
        _file = file;
        if (file is not null) Directory.CreateDirectory(Path.GetDirectoryName(file)!);
    }

    /// <summary>The current log file.</summary>
    public string? File => _file;

    /// <summary>Moves the log to <paramref name="file"/>, appending what the old file held.</summary>
    public void MoveTo(string file)
    {
        lock (_lock)
        {
            if (_file == file) return;
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            if (_file is not null && System.IO.File.Exists(_file))
            {
                System.IO.File.AppendAllText(file, System.IO.File.ReadAllText(_file));
                System.IO.File.Delete(_file);
            }
            _file = file;
        }
    }

    /// <summary>Writes one line.</summary>
    public void Info(string message)
    {
        var line = $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ssZ} {message}";
        lock (_lock)
        {
            _console.WriteLine("appliance-firstboot: " + message);
            if (_file is null) return;
            try
            {
                Rotate(_file);
                System.IO.File.AppendAllText(_file, line + "\n", Encoding.UTF8);
            }
            catch (IOException) { } // a full or failing disk must not stop first boot; the console still has the line
        }
    }

    private static void Rotate(string file)
    {
        var info = new FileInfo(file);
        if (!info.Exists || info.Length < MaxBytes) return;
        for (int i = Keep; i >= 1; i--)
        {
            var from = i == 1 ? file : $"{file}.{i - 1}";
            var to = $"{file}.{i}";
            if (System.IO.File.Exists(from)) System.IO.File.Move(from, to, overwrite: true);
        }
    }
}
